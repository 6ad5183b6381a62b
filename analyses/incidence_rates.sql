-- Incidence of an endpoint per 1,000 person-years by sex, age band and calendar period.
--
-- At risk: residents (marts.observation_period) inside the window who have not had the
-- endpoint before it, from entry until their first event, emigration, death or the window's
-- end; person-time is split by age band and calendar period (Lexis). Events: first events in
-- the window during residence, placed by age (completed years) and year at the event.
-- 95% CI: exact Poisson limits by Byar's approximation. Event counts pass disclosure control
-- (macro disclosure_protect; partition = sex x period), and a suppressed count hides its rate.
--
-- Optional var censor_at_endpoint: end person-time at the first event of another endpoint
-- (rates among people free of it, e.g. MI among people without type 2 diabetes).
--
-- Run: promise.analyses.run_analysis(warehouse=..., name="incidence_rates",
--      variables={"endpoint": "I9_MI", "period_years": 5}), or `dbt compile -s incidence_rates`.
{%- set endpoint = var('endpoint', 'E4_DM2') %}
{%- set window_start = var('window_start', '2001-01-01') %}
{%- set window_end = var('window_end', var('data_end')) %}
{%- set bands = var('age_bands', [0, 30, 40, 50, 60, 70, 80]) %}
{%- set period_years = var('period_years', 5) | int %}
{%- set censor_at = var('censor_at_endpoint', '') %}
{%- set first_year = window_start[:4] | int %}
{%- set last_year = window_end[:4] | int %}
with bands as (
    select * from (values
    {%- for lo in bands %}
        ({{ lo }}, {{ bands[loop.index] if not loop.last else 200 }},
         '{{ lo }}{{ ("-" ~ (bands[loop.index] - 1)) if not loop.last else "+" }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as t(lower_age, upper_age, age_band)
),

periods as (
    select * from (values
    {%- for start in range(first_year, last_year + 1, period_years) %}
        {%- set stop = [start + period_years - 1, last_year] | min %}
        (greatest(date '{{ start }}-01-01', date '{{ window_start }}'),
         least(date '{{ stop + 1 }}-01-01', date '{{ window_end }}' + 1),
         '{{ start }}{{ ("-" ~ stop) if stop != start else "" }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as t(period_start, period_end, period)
),

cases as (
    select person_id, first_event_date
    from {{ ref('endpoint_status') }}
    where endpoint = '{{ endpoint }}' and is_case
),

censoring as (
    select person_id, first_event_date as censor_date
    from {{ ref('endpoint_status') }}
    where endpoint = '{{ censor_at }}' and is_case
),

at_risk as (
    select
        o.person_id, p.sex, p.birth_date, c.first_event_date,
        greatest(o.start_date, date '{{ window_start }}') as entry,
        least(o.end_date, date '{{ window_end }}', coalesce(c.first_event_date, o.end_date),
              coalesce(x.censor_date, o.end_date)) as leave
    from {{ ref('observation_period') }} as o
    join {{ ref('person') }} as p using (person_id)
    left join cases as c using (person_id)
    left join censoring as x using (person_id)
    where (c.first_event_date is null or c.first_event_date >= date '{{ window_start }}')
      and p.sex is not null
),

person_time as (
    select sex, age_band, period, sum(datediff('day', split_start, split_end)) / 365.25 as person_years
    from (
        select
            a.sex, b.age_band, t.period,
            greatest(a.entry, a.birth_date + to_years(b.lower_age), t.period_start) as split_start,
            least(a.leave, a.birth_date + to_years(b.upper_age), t.period_end) as split_end
        from at_risk as a, bands as b, periods as t
    )
    where split_end > split_start
    group by all
),

events as (
    select a.sex, b.age_band, t.period, count(distinct a.person_id) as events
    from at_risk as a
    join bands as b
      on date_sub('year', a.birth_date, a.first_event_date) >= b.lower_age
     and date_sub('year', a.birth_date, a.first_event_date) < b.upper_age
    join periods as t
      on a.first_event_date >= t.period_start and a.first_event_date < t.period_end
    where a.first_event_date between a.entry and a.leave
      and a.first_event_date <= date '{{ window_end }}'
    group by all
),

rates as (
    select
        '{{ endpoint }}' as endpoint,
        pt.sex, pt.age_band, pt.period,
        coalesce(e.events, 0) as events,
        pt.person_years,
        1000.0 * coalesce(e.events, 0) / pt.person_years as rate_per_1000,
        case when coalesce(e.events, 0) = 0 then 0.0
             else 1000.0 * e.events * pow(1 - 1 / (9.0 * e.events) - 1.959964 / (3 * sqrt(e.events)), 3) / pt.person_years
        end as ci_low_per_1000,
        1000.0 * (coalesce(e.events, 0) + 1)
            * pow(1 - 1 / (9.0 * (coalesce(e.events, 0) + 1)) + 1.959964 / (3 * sqrt(coalesce(e.events, 0) + 1)), 3)
            / pt.person_years as ci_high_per_1000
    from person_time as pt
    left join events as e using (sex, age_band, period)
)

select
    endpoint, sex, age_band, period, events_released as events, events_suppressed,
    round(person_years, 1) as person_years,
    case when not events_suppressed then rate_per_1000 end as rate_per_1000,
    case when not events_suppressed then ci_low_per_1000 end as ci_low_per_1000,
    case when not events_suppressed then ci_high_per_1000 end as ci_high_per_1000
from ({{ disclosure_protect('select * from rates', 'events', partition_by=['sex', 'period']) }})
order by sex, period, age_band
