-- A person's residence spells are disjoint and each starts on or before it ends.
select person_id, start_date, end_date
from (
    select *, lag(end_date) over (partition by person_id order by start_date) as previous_end
    from {{ ref('observation_period') }}
)
where start_date > end_date or start_date < previous_end
