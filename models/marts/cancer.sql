select
    tumour_id,
    person_id,
    diagnosis_date_lower as diagnosis_date,
    diagnosis_date_upper,
    diagnosis_date_precision,
    icd7,
    topography,
    morphology,
    behaviour,
    is_malignant,
    is_benign,
    {{ age_years('birth_date', 'diagnosis_date_lower') }} as age_at_diagnosis
from {{ ref('stg_cancer__tumours') }}
