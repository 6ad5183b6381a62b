-- One row per event and normalised code: the code as registered (upper case, no dot or
-- comma), its ICD revision (from the register where it says, else from date and format), its
-- form for matching endpoint patterns (code_who: Swedish ICD-9 letters as WHO digits, 427D ->
-- 4273; macro icd9_who_form), and whether it was the main diagnosis in any of the event's records.
with normalised as (
    select
        *,
        {{ normalise_code('code_raw') }} as code
    from {{ ref('int_care_codes_unpivoted') }}
),

versioned as (
    select
        *,
        case
            when code_system = 'ICD-O-3' then null
            when register_icd_version is not null then register_icd_version
            else {{ icd_version('code', 'event_date') }}
        end as icd_version
    from normalised
    where code is not null
)

select
    event_id || '|' || code as diagnosis_id,
    person_id,
    event_id,
    min(event_date) as event_date,
    source,
    code_system,
    min(icd_version) as icd_version,
    min(trim(code_raw)) as code_raw,
    code,
    case when min(icd_version) = 9 then {{ icd9_who_form('code') }} else code end as code_who,
    bool_or(is_main) as is_main,
    min(birth_date) as birth_date
from versioned
group by person_id, event_id, source, code_system, code
