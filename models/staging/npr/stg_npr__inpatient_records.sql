select
    'npr_inpatient:' || _load_id || ':' || _source_line as record_id,
    person_id,
    birth_date,
    sex,
    admission_date,
    coalesce(discharge_date, admission_date) as discharge_date,
    main_diagnosis,
    {% for i in range(1, 31) %}diagnosis_{{ i }},
    {% endfor %}diagnoses,
    procedures,
    hospital,
    department,
    care_type
from {{ raw_source('npr_inpatient') }}
where admission_date is not null
