-- One row per tumour of the Swedish Cancer Register, with its behaviour. The register records
-- malignant tumours and also in situ and some benign lesions (HSLF-FS 2016:7 4 §: in situ
-- changes, high-grade dysplasia, endocrine tumours, ...). Behaviour is the ICD-O digit after
-- the four-digit morphology (85003 or 8500/3: 0 benign, 1 uncertain, 2 in situ, 3 malignant,
-- 6 metastasis, 9 malignant, primary or metastasis uncertain); BEN = 3 marks a benign tumour
-- where no behaviour digit is given. A tumour with neither is taken as malignant, the
-- register's reportable default.
with tumours as (
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
)

select
    *,
    case
        when regexp_full_match(morphology, '[0-9]{5}') then right(morphology, 1)
        when is_benign then '0'
    end as behaviour,
    case
        when regexp_full_match(morphology, '[0-9]{5}') then right(morphology, 1) in ('3', '6', '9')
        else not is_benign
    end as is_malignant
from tumours
