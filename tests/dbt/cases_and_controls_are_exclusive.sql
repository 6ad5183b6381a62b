-- Nobody is both a case and a control; a case has a first event and at least one event.
select person_id, endpoint
from {{ ref('endpoint_status') }}
where (is_case and is_control)
   or (is_case and (first_event_date is null or n_events < 1))
