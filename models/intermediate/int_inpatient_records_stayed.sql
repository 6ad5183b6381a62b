-- Inpatient records with the stay they belong to: a record admitted at most
-- var('transfer_gap_days') after the latest discharge so far continues the same stay
-- (a transfer between wards or hospitals), otherwise it opens a new stay.
with ordered as (
    -- narrow rows only: the windows sort four columns, the diagnoses join back at the end
    select
        record_id, person_id, admission_date, discharge_date,
        max(discharge_date) over (
            partition by person_id
            order by admission_date, discharge_date, record_id
            rows between unbounded preceding and 1 preceding
        ) as previous_discharge
    from {{ ref('stg_npr__inpatient_records') }}
),

flagged as (
    select
        *,
        case
            when previous_discharge is null then 1
            when admission_date > previous_discharge + to_days({{ var('transfer_gap_days') }}) then 1
            else 0
        end as opens_stay
    from ordered
),

numbered as (
    select
        *,
        sum(opens_stay) over (
            partition by person_id
            order by admission_date, discharge_date, record_id
            rows between unbounded preceding and current row
        ) as stay_number
    from flagged
),

stays as (
    select
        record_id,
        'stay:' || person_id || ':' || stay_number as stay_id,
        min(admission_date) over (partition by person_id, stay_number) as stay_admission_date,
        max(discharge_date) over (partition by person_id, stay_number) as stay_discharge_date
    from numbered
)

select r.*, s.stay_id, s.stay_admission_date, s.stay_discharge_date
from {{ ref('stg_npr__inpatient_records') }} as r
join stays as s using (record_id)
