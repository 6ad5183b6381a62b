select
    person_id,
    birth_date,
    sex,
    is_coordination_number,
    nullif(trim(country_of_birth), '') as country_of_birth,
    nullif(trim(county_of_birth), '') as county_of_birth,
    coalesce(reused_number, false) as is_reused_number,
    _load_id as load_id,
    _source_line as source_line
from {{ raw_source('population') }}
