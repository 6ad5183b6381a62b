select
    observation_period_id,
    person_id,
    start_date,
    end_date,
    start_reason,
    end_reason,
    datediff('day', start_date, end_date) / 365.25 as person_years
from {{ ref('int_residence_spells') }}
