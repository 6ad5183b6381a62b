with measurements as (
    select sample_id, platform, analyte_id, analyte_name, value, unit, below_lod, qc_warning
    from {{ ref('stg_olink__measurements') }}
    union all
    select sample_id, platform, analyte_id, analyte_name, value, unit, below_lod, qc_warning
    from {{ ref('stg_nmr__measurements') }}
),

deduplicated as (
    -- a sample measured twice for the same analyte keeps its first value
    select * from measurements
    qualify row_number() over (partition by sample_id, platform, analyte_id order by value) = 1
)

select
    m.sample_id || '|' || m.platform || '|' || m.analyte_id as measurement_id,
    s.person_id,
    m.sample_id,
    s.sampling_date,
    m.platform,
    m.analyte_id,
    m.analyte_name,
    m.value,
    m.unit,
    m.below_lod,
    m.qc_warning
from deduplicated as m
join {{ ref('stg_biobank__samples') }} as s using (sample_id)
