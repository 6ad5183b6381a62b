select
    'lmed:' || _load_id || ':' || _source_line as record_id,
    person_id,
    birth_date,
    sex,
    upper(trim(atc)) as atc,
    prescription_date,
    dispense_date,
    packages,
    ddd_per_package,
    nullif(trim(product_number), '') as product_number
from {{ raw_source('lmed') }}
where dispense_date is not null and atc is not null
