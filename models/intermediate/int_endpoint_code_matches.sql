-- One row per endpoint, register, ICD revision and distinct normalised code that an endpoint
-- pattern matches, with whether it matched an inclusion and/or an exclusion pattern.
-- Patterns run against the distinct codes only (joined on their first characters), never
-- against every event; events join back to this table. Diagnosis codes are matched in their
-- WHO form (code_who: a Swedish ICD-9 427D as 4273), the form FinnGen's patterns are written in.
with codes as (
    select distinct source as match_source, icd_version, code, code_who as match_code
    from {{ ref('int_diagnoses_normalised') }}
    where source in ('inpatient', 'outpatient', 'death')
    union all
    select distinct 'drug', 0, atc, atc from {{ ref('int_dispensings_netted') }}
    union all
    select distinct 'cancer_topography', 0, topography, topography
    from {{ ref('stg_cancer__tumours') }} where topography is not null
    union all
    select distinct 'cancer_morphology', 0, morphology, morphology
    from {{ ref('stg_cancer__tumours') }} where morphology is not null
    union all
    select distinct 'procedure', 0, code, code from {{ ref('int_procedures_unnested') }}
),

code_buckets as (
    select distinct match_source, icd_version, code, match_code, bucket
    from (
        select *, unnest(['', left(match_code, 1), left(match_code, 2)]) as bucket from codes
    )
),

patterns as (
    select * from {{ ref('int_endpoint_patterns') }} where is_supported
),

matched as (
    select p.name, p.part_family, p.match_source, p.icd_version, c.code, p.is_exclusion
    from patterns as p
    join code_buckets as c
      on c.match_source = p.match_source
     and c.icd_version = p.icd_version
     and c.bucket = p.bucket
    where starts_with(c.match_code, p.literal_prefix)
      and regexp_matches(c.match_code, p.regex)
)

select
    name,
    part_family,
    match_source,
    icd_version,
    code,
    bool_or(not is_exclusion) as matches_inclusion,
    bool_or(is_exclusion) as matches_exclusion
from matched
group by all
