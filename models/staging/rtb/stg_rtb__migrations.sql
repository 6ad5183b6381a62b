select
    person_id,
    birth_date,
    sex,
    lower(migration_type) as migration_type,
    migration_date,
    nullif(trim(country), '') as country,
    'migration:' || _load_id || ':' || _source_line as record_id
from {{ raw_source('migration') }}
where migration_date is not null
