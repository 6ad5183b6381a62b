with measurements as (
    select sample_id, platform, analyte_id, analyte_name, value, unit, below_lod, qc_warning
    from {{ ref('stg_olink__measurements') }}
    union all
    select sample_id, platform, analyte_id, analyte_name, value, unit, below_lod, qc_warning
    from {{ ref('stg_nmr__measurements') }}
),

deduplicated as (
    -- an analyte measured twice on a sample (an assay on several panels) keeps its lowest value
    select
        sample_id, platform, analyte_id,
        any_value(analyte_name) as analyte_name,
        min(value) as value,
        any_value(unit) as unit,
        arg_min(below_lod, value) as below_lod,
        arg_min(qc_warning, value) as qc_warning
    from measurements
    group by sample_id, platform, analyte_id
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
