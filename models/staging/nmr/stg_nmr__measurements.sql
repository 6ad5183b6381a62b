select
    sample_id,
    'nmr' as platform,
    measure as analyte_id,
    measure as analyte_name,
    value,
    unit,
    false as below_lod,
    cast(null as varchar) as qc_warning
from {{ raw_source('metabolomics') }}
