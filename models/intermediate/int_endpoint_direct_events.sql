-- One row per endpoint and register event that qualifies through the endpoint's own patterns
-- (not through INCLUDE): a code matching an inclusion but no exclusion pattern of the same
-- column family; main diagnoses only under HD_MAINONLY / COD_MAINONLY; prescribed drugs only
-- for people with at least var('drug_min_dispensings') matching dispensings (one is enough
-- under SINGLE_OK; under NEEDOTHER=YES only with another qualifying source); cancer tumours
-- must match every CANC_* column given and have the behaviour CANC_BEHAV asks for: malignant
-- (behaviour 3, or 6/9) when it is 3 or empty, since the Swedish register also holds in situ
-- and benign tumours that FinnGen's cancer endpoints never count (stg_cancer__tumours); a
-- death record without any cause is an event of the endpoints whose COD patterns are ANY.
with definitions as (
    select * from {{ ref('int_endpoint_definitions_parsed') }}
),

qualifying_codes as (
    select * from {{ ref('int_endpoint_code_matches') }}
    where matches_inclusion and not matches_exclusion
),

diagnosis_events as (
    select q.name, d.person_id, d.event_id, d.event_date, d.source, d.code, d.birth_date
    from qualifying_codes as q
    join {{ ref('int_diagnoses_normalised') }} as d
      on d.source = q.match_source and d.icd_version = q.icd_version and d.code = q.code
    join definitions as e on e.name = q.name
    where q.match_source in ('inpatient', 'outpatient', 'death')
      and (q.part_family <> 'HD' or not e.hd_main_only or d.is_main)
      and (q.part_family <> 'COD' or not e.cod_main_only or d.is_main)
),

procedure_events as (
    select q.name, p.person_id, p.event_id, p.event_date, 'procedure' as source, p.code, p.birth_date
    from qualifying_codes as q
    join {{ ref('int_procedures_unnested') }} as p on p.code = q.code
    where q.match_source = 'procedure'
),

cancer_hits as (
    select t.tumour_id, q.name, q.part_family
    from qualifying_codes as q
    join {{ ref('stg_cancer__tumours') }} as t
      on (q.match_source = 'cancer_topography' and t.topography = q.code)
      or (q.match_source = 'cancer_morphology' and t.morphology = q.code)
),

cancer_events as (
    select e.name, t.person_id, t.tumour_id as event_id, t.diagnosis_date_lower as event_date,
           'cancer' as source, coalesce(t.topography, t.morphology) as code, t.birth_date
    from (
        select tumour_id, name,
               bool_or(part_family = 'CANC_TOPO') as topography_hit,
               bool_or(part_family = 'CANC_MORPH') as morphology_hit
        from cancer_hits
        group by all
    ) as h
    join definitions as e using (name)
    join {{ ref('stg_cancer__tumours') }} as t using (tumour_id)
    join {{ ref('stg_endpoints__definitions') }} as raw on raw."NAME" = e.name
    where (raw."CANC_TOPO" is null or h.topography_hit)
      and (raw."CANC_MORPH" is null or h.morphology_hit)
      and (case coalesce(e.cancer_behaviour, '3')
               when '3' then t.is_malignant
               else t.behaviour = e.cancer_behaviour end)
),

uncoded_death_events as (
    -- A COD pattern ANY (DEATH) takes every death, so a death record without any recorded
    -- cause, which gives no code to match, is an event of its own; the ICD revision it belongs
    -- to is the register's, else the one in use on its date. Coded deaths match ANY above.
    select p.name, d.person_id, d.record_id as event_id, d.death_date as event_date,
           'death' as source, cast(null as varchar) as code, d.birth_date
    from {{ ref('int_deaths_dated') }} as d
    join {{ ref('int_endpoint_patterns') }} as p
      on p.icd_version = coalesce(d.icd_version, {{ icd_version("''", 'd.death_date') }})
    where p.match_source = 'death' and p.alternative = 'ANY' and p.is_supported
      and not p.is_exclusion
      and d.record_id not in (
          select event_id from {{ ref('int_diagnoses_normalised') }} where source = 'death')
),

non_drug_events as (
    select * from diagnosis_events
    union all
    select * from procedure_events
    union all
    select * from cancer_events
    union all
    select * from uncoded_death_events
),

drug_candidates as (
    select q.name, d.person_id, d.dispensing_id as event_id, d.dispense_date as event_date,
           'drug' as source, d.atc as code, d.birth_date,
           count(*) over (partition by q.name, d.person_id) as n_dispensings
    from qualifying_codes as q
    join {{ ref('int_dispensings_netted') }} as d on d.atc = q.code
    where q.match_source = 'drug'
),

drug_events as (
    select c.name, c.person_id, c.event_id, c.event_date, c.source, c.code, c.birth_date
    from drug_candidates as c
    join definitions as e using (name)
    where (c.n_dispensings >= {{ var('drug_min_dispensings') }} or e.drug_single_ok)
      and (not e.drug_needs_other or exists (
            select 1 from non_drug_events as o where o.name = c.name and o.person_id = c.person_id))
)

select * from non_drug_events
union all
select * from drug_events
