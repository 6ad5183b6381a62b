-- depends_on: {{ ref('endpoint_definition') }}
-- depends_on: {{ ref('omics_measurement') }}
{{ config(post_hook="{{ gwas_phenotype_column_comments(this) }}") }}
{%- set endpoints = [] %}
{%- set traits = [] %}
{%- if execute %}
    {%- set endpoints = run_query("select name from " ~ ref('endpoint_definition') ~ " order by name").columns[0].values() %}
    {%- set traits = run_query("select distinct analyte_name from " ~ ref('omics_measurement') ~ " where analyte_name is not null order by 1").columns[0].values() %}
{%- endif %}
with samples as (
    select
        g.person_id,
        g.sample_id,
        g.batch,
        coalesce(p.sex, g.sex) as sex,
        case coalesce(p.sex, g.sex) when 'female' then 1 when 'male' then 0 end as is_female,
        {{ age_years('coalesce(p.birth_date, g.birth_date)',
                     "least(coalesce(p.death_date, date '" ~ var('data_end') ~ "'), date '" ~ var('data_end') ~ "')") }} as age,
        year(coalesce(p.birth_date, g.birth_date)) as birth_year
    from {{ ref('stg_genotyping__samples') }} as g
    left join {{ ref('person') }} as p using (person_id)
),

statuses as (
    select person_id, endpoint,
           case when is_case then 1 when is_control then 0 end as value
    from {{ ref('endpoint_status') }}
    where person_id in (select person_id from samples)
),

first_values as (
    select person_id, analyte_name, value
    from {{ ref('omics_measurement') }}
    where person_id in (select person_id from samples)
    qualify row_number() over (
        partition by person_id, analyte_name order by sampling_date, sample_id) = 1
)

select
    s.*
    {%- for e in endpoints %},
    cast(es."{{ e | replace('"', '""') }}" as integer) as "{{ e | replace('"', '""') }}"
    {%- endfor %}
    {%- for t in traits %},
    cast(tv."{{ t | replace('"', '""') }}" as double) as "{{ t | replace('"', '""') }}"
    {%- endfor %}
from samples as s
{%- if endpoints | length > 0 %}
left join (
    pivot statuses on endpoint in ({% for e in endpoints %}'{{ e | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
    using first(value) group by person_id
) as es using (person_id)
{%- endif %}
{%- if traits | length > 0 %}
left join (
    pivot first_values on analyte_name in ({% for t in traits %}'{{ t | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
    using first(value) group by person_id
) as tv using (person_id)
{%- endif %}
