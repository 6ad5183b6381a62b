-- A genotyped sample is a person in a batch: never two rows for the same pair.
select person_id, batch, count(*) as n
from {{ ref('gwas_phenotype') }}
group by person_id, batch
having count(*) > 1
