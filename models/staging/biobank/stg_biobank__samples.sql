select
    sample_id,
    person_id,
    birth_date,
    sex,
    sampling_date,
    sample_type
from {{ raw_source('biobank') }}
