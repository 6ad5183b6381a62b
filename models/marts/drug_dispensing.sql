select
    dispensing_id,
    person_id,
    atc,
    not starts_with(atc, 'Y') as is_who_atc,
    prescription_date,
    dispense_date,
    product_number,
    packages_dispensed,
    packages,
    n_corrections,
    ddd_per_package,
    packages * ddd_per_package as ddd,
    {{ age_years('birth_date', 'dispense_date') }} as age_at_dispensing
from {{ ref('int_dispensings_netted') }}
