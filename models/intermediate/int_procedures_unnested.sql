-- One row per procedure code (KVÅ) on an inpatient stay or outpatient visit.
with records as (
    select stay_id as event_id, person_id, birth_date, stay_admission_date as event_date,
           'inpatient' as source, procedures
    from {{ ref('int_inpatient_records_stayed') }}
    where procedures is not null
    union all
    select record_id, person_id, birth_date, visit_date, 'outpatient', procedures
    from {{ ref('stg_npr__outpatient_records') }}
    where procedures is not null
)

select distinct event_id, person_id, birth_date, event_date, source,
       {{ normalise_code('code_raw') }} as code
from (select *, unnest(string_split(trim(procedures), ' ')) as code_raw from records)
where {{ normalise_code('code_raw') }} is not null
