-- Cumulative incidence of an endpoint by age and sex: 1 - exp(-cumulative hazard), the hazard
-- estimated per year of age from first events and resident person-time in the window
-- (people with the endpoint before the window excluded). Ignores competing death, so it is
-- the incidence a person would have in the absence of death. One row per sex and age step
-- (var age_step years, default 5). Event counts pass disclosure control (partition = sex);
-- the curve is computed from released counts only and withheld from the first suppressed
-- step on, so no suppressed count can be read back from it.
{%- set endpoint = var('endpoint', 'E4_DM2') %}
{%- set window_start = var('window_start', '2001-01-01') %}
{%- set window_end = var('window_end', var('data_end')) %}
{%- set max_age = var('max_age', 100) | int %}
{%- set step = var('age_step', 5) | int %}
with cases as (
    select person_id, first_event_date
    from {{ ref('endpoint_case') }}
    where endpoint = '{{ endpoint }}'
),

at_risk as (
    select
        o.person_id, p.sex, p.birth_date, c.first_event_date,
        greatest(o.start_date, date '{{ window_start }}') as entry,
        least(o.end_date, date '{{ window_end }}', coalesce(c.first_event_date, o.end_date)) as leave
    from {{ ref('observation_period') }} as o
    join {{ ref('person') }} as p using (person_id)
    left join cases as c using (person_id)
    where (c.first_event_date is null or c.first_event_date >= date '{{ window_start }}')
      and p.sex is not null
),

ages as (
    select range as age from range(0, {{ max_age }})
),

person_time as (
    select sex, age - age % {{ step }} as age, sum(datediff('day', s, e)) / 365.25 as person_years
    from (
        select a.sex, g.age,
               greatest(a.entry, a.birth_date + to_years(cast(g.age as integer))) as s,
               least(a.leave, a.birth_date + to_years(cast(g.age + 1 as integer))) as e
        from at_risk as a, ages as g
        where g.age between date_sub('year', a.birth_date, a.entry) and date_sub('year', a.birth_date, a.leave)
    )
    where e > s
    group by all
),

events as (
    select sex, date_sub('year', birth_date, first_event_date) - date_sub('year', birth_date, first_event_date) % {{ step }} as age,
           count(*) as events
    from at_risk
    where first_event_date between entry and leave
    group by all
),

hazards as (
    select '{{ endpoint }}' as endpoint, pt.sex, pt.age, coalesce(e.events, 0) as events, pt.person_years
    from person_time as pt
    left join events as e using (sex, age)
)

select
    endpoint, sex, age as age_from, age + {{ step }} as age_to, events_released as events, events_suppressed,
    round(person_years, 1) as person_years,
    case when not bool_or(events_suppressed) over (partition by sex order by age)
         then 1 - exp(-sum(coalesce(events_released, 0) / person_years) over (partition by sex order by age))
    end as cumulative_incidence
from ({{ disclosure_protect('select * from hazards', 'events', partition_by=['sex']) }})
order by sex, age
