-- The cases of endpoint_status alone, sorted by endpoint so that a query for one endpoint
-- reads only its own row groups (endpoint_status holds every person for every endpoint).
select person_id, endpoint, first_event_date, age_at_onset, n_events
from {{ ref('endpoint_status') }}
where is_case
order by endpoint, person_id
