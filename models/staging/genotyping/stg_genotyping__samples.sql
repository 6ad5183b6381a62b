select
    person_id,
    sample_id,
    batch,
    birth_date,
    sex
from {{ raw_source('genotyped_samples') }}
