select
    diagnosis_id,
    person_id,
    event_id,
    event_date,
    source,
    code_system,
    icd_version,
    code_raw,
    code,
    code_who,
    is_main,
    {{ age_years('birth_date', 'event_date') }} as age_at_event
from {{ ref('int_diagnoses_normalised') }}
