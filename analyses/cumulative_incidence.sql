-- Cumulative incidence of an endpoint by age and sex: 1 - exp(-H(age)), H the Nelson-Aalen
-- cumulative hazard with age as the time scale: at each age t (days since birth / 365.25) at
-- which first events occur, H grows by the number of first events d(t) over the number of
-- people at risk n(t), those who entered at or before t and have not left before t. People
-- enter at their age at window_start or at immigration (delayed entry) and leave at their
-- first event, emigration, death or the window's end; people with the endpoint before the
-- window are excluded. lifelines' NelsonAalenFitter (nelson_aalen_smoothing=False) gives the
-- same curve (tests/build/test_build_acceptance.py). Ignores competing death, so it is the
-- incidence a person would have in the absence of death.
--
-- One row per sex and age step (var age_step years, default 5): the step's first events and
-- person-years, and 1 - exp(-H) at the step's end (age_to). Days count as in incidence_rates:
-- window_end and var data_end are included. Event counts pass disclosure control
-- (partition = sex); the curve is withheld from the first suppressed step on, so no suppressed
-- count can be read back from it.
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
        p.sex, p.birth_date, c.first_event_date,
        greatest(o.start_date, date '{{ window_start }}') as entry,
        least(o.end_date + case when o.end_reason = 'end_of_data' then 1 else 0 end,
              date '{{ window_end }}' + 1,
              coalesce(c.first_event_date, o.end_date + 1)) as leave
    from {{ ref('observation_period') }} as o
    join {{ ref('person') }} as p using (person_id)
    left join cases as c using (person_id)
    where (c.first_event_date is null or c.first_event_date >= date '{{ window_start }}')
      and p.sex is not null
),

spans as (
    -- ages in days since birth: the time scale
    select
        sex,
        datediff('day', birth_date, entry) as t_in,
        datediff('day', birth_date, leave) as t_out,
        coalesce(first_event_date between entry and leave
                 and first_event_date <= date '{{ window_end }}', false) as is_event
    from at_risk
    where leave >= entry
),

timeline as (
    select sex, t_in as t, 1 as entering, 0 as leaving, 0 as events from spans
    union all
    select sex, t_out, 0, 1, case when is_event then 1 else 0 end from spans
),

risk_sets as (
    -- n(t) = people entered at or before t minus people who left before t
    select
        sex, t, events,
        sum(entering) over cumulative - (sum(leaving) over cumulative - leaving) as at_risk
    from (
        select sex, t, sum(entering) as entering, sum(leaving) as leaving, sum(events) as events
        from timeline
        group by all
    )
    window cumulative as (partition by sex order by t rows between unbounded preceding and current row)
),

steps as (
    select range as age from range(0, {{ max_age }}, {{ step }})
),

step_hazards as (
    select sex, cast(floor(t / 365.25 / {{ step }}) * {{ step }} as bigint) as age,
           sum(events) as events, sum(events / at_risk) as hazard
    from risk_sets
    where events > 0
    group by all
),

step_time as (
    select s.sex, g.age,
           sum(least(s.t_out, (g.age + {{ step }}) * 365.25) - greatest(s.t_in, g.age * 365.25)) / 365.25
               as person_years
    from spans as s
    join steps as g
      on s.t_in < (g.age + {{ step }}) * 365.25 and s.t_out > g.age * 365.25
    group by all
),

curve as (
    select '{{ endpoint }}' as endpoint, t.sex, t.age, coalesce(h.events, 0) as events,
           t.person_years, coalesce(h.hazard, 0) as hazard
    from step_time as t
    left join step_hazards as h using (sex, age)
)

select
    endpoint, sex, age as age_from, age + {{ step }} as age_to, events_released as events, events_suppressed,
    round(person_years, 1) as person_years,
    case when not bool_or(events_suppressed) over (partition by sex order by age)
         then 1 - exp(-sum(hazard) over (partition by sex order by age))
    end as cumulative_incidence
from ({{ disclosure_protect('select * from curve', 'events', partition_by=['sex']) }})
order by sex, age
