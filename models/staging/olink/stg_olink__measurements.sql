select
    sample_id,
    'olink' as platform,
    olink_id as analyte_id,
    assay as analyte_name,
    npx as value,
    'NPX' as unit,
    coalesce(below_lod, false) as below_lod,
    qc_warning,
    panel,
    plate_id
from {{ raw_source('olink') }}
