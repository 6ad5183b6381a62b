select
    'cancer:' || _load_id || ':' || _source_line as tumour_id,
    person_id,
    birth_date,
    sex,
    diagnosis_date_lower,
    diagnosis_date_upper,
    diagnosis_date_precision,
    nullif(upper(trim(icd7)), '') as icd7,
    {{ normalise_code('icdo3_topography') }} as topography,
    {{ normalise_code('snomed3_morphology') }} as morphology,
    coalesce(benign, false) as is_benign
from {{ raw_source('cancer') }}
where diagnosis_date_lower is not null
