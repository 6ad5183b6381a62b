select
    s.observation_period_id,
    s.person_id,
    p.sex,
    p.birth_date,
    s.start_date,
    s.end_date,
    s.start_reason,
    s.end_reason,
    datediff('day', s.start_date, s.end_date) / 365.25 as person_years
from {{ ref('int_residence_spells') }} as s
join {{ ref('int_persons_deduplicated') }} as p using (person_id)
