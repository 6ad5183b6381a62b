-- One row per LMED row (dispensings and their correction rows). dispense_date is EDATUM, the
-- day the pharmacy dispensed (expeditionsdatum), and dates every drug event; prescription_date
-- is FDATUM, the day the prescription was written (förskrivningsdatum), shared by its refills
-- and sometimes empty (Socialstyrelsen's variable list; data-contracts/lmed.odcs.yaml). An
-- empty ANTAL leaves packages NULL: the dispensing still happened.
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
