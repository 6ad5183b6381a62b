-- The key of endpoint_status is the pair (person_id, endpoint).
select person_id, endpoint, count(*) as n
from {{ ref('endpoint_status') }}
group by person_id, endpoint
having count(*) > 1
