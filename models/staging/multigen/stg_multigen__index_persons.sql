select
    person_id,
    birth_date,
    sex,
    mother_id,
    mother_birth_date,
    father_id,
    father_birth_date,
    adoptive_mother_id,
    adoptive_mother_birth_date,
    adoptive_father_id,
    adoptive_father_birth_date,
    _load_id as load_id,
    _source_line as source_line
from {{ raw_source('multigen') }}
