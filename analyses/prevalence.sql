-- Prevalence of an endpoint on a date by sex and age band: residents on that date (an
-- observation period covers it) who have had the endpoint by then, per 1,000, with Wilson
-- 95% CIs. Case counts pass disclosure control (partition = sex).
{%- set endpoint = var('endpoint', 'E4_DM2') %}
{%- set on_date = var('on_date', '2020-01-01') %}
{%- set bands = var('age_bands', [0, 30, 40, 50, 60, 70, 80]) %}
with bands as (
    select * from (values
    {%- for lo in bands %}
        ({{ lo }}, {{ bands[loop.index] if not loop.last else 200 }},
         '{{ lo }}{{ ("-" ~ (bands[loop.index] - 1)) if not loop.last else "+" }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as t(lower_age, upper_age, age_band)
),

residents as (
    select distinct p.person_id, p.sex, date_sub('year', p.birth_date, date '{{ on_date }}') as age
    from {{ ref('observation_period') }} as o
    join {{ ref('person') }} as p using (person_id)
    where date '{{ on_date }}' between o.start_date and o.end_date and p.sex is not null
),

counts as (
    select
        '{{ endpoint }}' as endpoint, r.sex, b.age_band,
        count(*) as population,
        count(*) filter (where s.first_event_date <= date '{{ on_date }}') as cases
    from residents as r
    join bands as b on r.age >= b.lower_age and r.age < b.upper_age
    left join {{ ref('endpoint_case') }} as s
      on s.person_id = r.person_id and s.endpoint = '{{ endpoint }}'
    group by all
),

estimates as (
    select
        *,
        cases / population as p_hat,
        1.959964 as z
    from counts
)

select
    endpoint, sex, age_band, population, cases_released as cases, cases_suppressed,
    case when not cases_suppressed then 1000 * p_hat end as prevalence_per_1000,
    case when not cases_suppressed then 1000 * (p_hat + z * z / (2 * population)
        - z * sqrt(p_hat * (1 - p_hat) / population + z * z / (4 * population * population)))
        / (1 + z * z / population) end as ci_low_per_1000,
    case when not cases_suppressed then 1000 * (p_hat + z * z / (2 * population)
        + z * sqrt(p_hat * (1 - p_hat) / population + z * z / (4 * population * population)))
        / (1 + z * z / population) end as ci_high_per_1000
from ({{ disclosure_protect('select * from estimates', 'cases', partition_by=['sex']) }})
order by sex, age_band
