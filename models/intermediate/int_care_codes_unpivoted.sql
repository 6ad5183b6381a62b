-- Every diagnosis code of every inpatient stay, outpatient visit, death and tumour, one row
-- per event and position, before normalisation and de-duplication. A death's codes are dated
-- by its death date (int_deaths_dated: the midpoint rule for partial dates).
with inpatient as (
    select stay_id as event_id, person_id, birth_date, stay_admission_date as event_date,
           'inpatient' as source, main_diagnosis,
           {% for i in range(1, 31) %}diagnosis_{{ i }}, {% endfor %}diagnoses
    from {{ ref('int_inpatient_records_stayed') }}
),

outpatient as (
    select record_id as event_id, person_id, birth_date, visit_date as event_date,
           'outpatient' as source, main_diagnosis,
           {% for i in range(1, 31) %}diagnosis_{{ i }}, {% endfor %}diagnoses
    from {{ ref('stg_npr__outpatient_records') }}
),

npr as (
    select * from inpatient
    union all
    select * from outpatient
),

npr_columns as (
    unpivot (select * exclude (diagnoses) from npr)
    on main_diagnosis, {% for i in range(1, 31) %}diagnosis_{{ i }}{{ ", " if not loop.last }}{% endfor %}
    into name column_name value code_raw
),

npr_strings as (
    -- the DIAGNOS delivery variant: space-separated codes, the first one is the main diagnosis
    select event_id, person_id, birth_date, event_date, source, token.code_raw,
           token.position = 1 as is_main
    from (
        select *, unnest(list_transform(
            list_filter(string_split(trim(diagnoses), ' '), x -> x <> ''),
            (x, i) -> {'code_raw': x, 'position': i})) as token
        from npr
        where diagnoses is not null
    )
),

deaths as (
    unpivot (
        select record_id as event_id, person_id, birth_date, death_date as event_date,
               'death' as source, icd_version as register_icd_version,
               underlying_cause, {% for i in range(1, 18) %}contributing_cause_{{ i }}{{ ", " if not loop.last }}{% endfor %}
        from {{ ref('int_deaths_dated') }}
    )
    on underlying_cause, {% for i in range(1, 18) %}contributing_cause_{{ i }}{{ ", " if not loop.last }}{% endfor %}
    into name column_name value code_raw
)

select event_id, person_id, birth_date, event_date, source, code_raw,
       column_name = 'main_diagnosis' as is_main, cast(null as integer) as register_icd_version,
       'ICD' as code_system
from npr_columns
union all
select event_id, person_id, birth_date, event_date, source, code_raw, is_main,
       cast(null as integer), 'ICD'
from npr_strings
union all
select event_id, person_id, birth_date, event_date, source, code_raw,
       column_name = 'underlying_cause', register_icd_version, 'ICD'
from deaths
union all
select tumour_id, person_id, birth_date, diagnosis_date_lower, 'cancer', topography, true,
       cast(null as integer), 'ICD-O-3'
from {{ ref('stg_cancer__tumours') }}
where topography is not null
