-- One row per person seen anywhere in the raw layer. Attributes come from the person's latest
-- population-register row; a person missing from it (a quarantined population row, a register
-- that reaches people the extract did not) still gets birth date and sex, which every raw
-- table derives from the personnummer.
with population as (
    select * exclude (row_rank)
    from (
        select
            *,
            row_number() over (partition by person_id order by load_id desc, source_line desc) as row_rank
        from {{ ref('stg_rtb__persons') }}
    )
    where row_rank = 1
),

elsewhere as (
    {% for model in ['stg_rtb__migrations', 'stg_npr__inpatient_records', 'stg_npr__outpatient_records',
                     'stg_lmed__dispensings', 'stg_dors__deaths', 'stg_cancer__tumours',
                     'stg_biobank__samples', 'stg_genotyping__samples'] %}
    select person_id, birth_date, sex from {{ ref(model) }}
    {{ "union all" if not loop.last }}
    {% endfor %}
),

others as (
    select person_id, min(birth_date) as birth_date, min(sex) as sex
    from elsewhere
    where person_id is not null and person_id not in (select person_id from population)
    group by person_id
)

select person_id, birth_date, sex, is_coordination_number, country_of_birth, county_of_birth,
       is_reused_number, true as in_population_register
from population
union all
select person_id, birth_date, sex, cast(null as boolean), null, null, false, false
from others
