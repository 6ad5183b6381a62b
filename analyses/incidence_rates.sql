-- Incidence of an endpoint per 1,000 person-years by sex, age band and calendar period.
--
-- At risk: residents (marts.observation_period) inside the window who have not had the
-- endpoint before it, from entry until their first event, emigration, death or the window's
-- end; person-time is split by age band and calendar period (Lexis). Events: first events in
-- the window during residence, placed by age (completed years) and year at the event.
-- Days: the day of a first event, emigration or death ends person-time (it is the exit);
-- window_end and var data_end are days of follow-up included, so a person resident through
-- a window 2020-01-01..2020-12-31 contributes 366 days.
-- 95% CI: Byar's approximation to the exact (Garwood) Poisson limits, not the exact limits
-- themselves; from 5 events on, the counts that pass disclosure control, the two agree within
-- 1% (tests/build/test_build_acceptance.py). Event counts pass disclosure control (macro
-- disclosure_protect; partition = sex x period), and a suppressed count hides its rate.
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
        ({{ loop.index0 }}, {{ lo }}, {{ bands[loop.index] if not loop.last else 200 }},
         '{{ lo }}{{ ("-" ~ (bands[loop.index] - 1)) if not loop.last else "+" }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as t(band_index, lower_age, upper_age, age_band)
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

indexed_periods as (
    select *, {{ period_index('period_start', first_year, period_years) }} as period_index from periods
),

cases as (
    select person_id, first_event_date
    from {{ ref('endpoint_case') }}
    where endpoint = '{{ endpoint }}'
),

{%- if censor_at %}
censoring as (
    select person_id, first_event_date as censor_date
    from {{ ref('endpoint_case') }}
    where endpoint = '{{ censor_at }}'
),
{%- endif %}

at_risk as materialized (
    select
        o.person_id, o.sex, o.birth_date, c.first_event_date,
        greatest(o.start_date, date '{{ window_start }}') as entry,
        least(o.end_date + case when o.end_reason = 'end_of_data' then 1 else 0 end,
              date '{{ window_end }}' + 1, coalesce(c.first_event_date, o.end_date + 1)
              {%- if censor_at %}, coalesce(x.censor_date, o.end_date + 1){% endif %}) as leave
    from {{ ref('observation_period') }} as o
    left join cases as c using (person_id)
    {%- if censor_at %}
    left join censoring as x using (person_id)
    {%- endif %}
    where (c.first_event_date is null or c.first_event_date >= date '{{ window_start }}')
      and o.sex is not null
      and o.end_date >= date '{{ window_start }}' and o.start_date <= date '{{ window_end }}'
),

age_split as (
    -- each at-risk interval cut at the birthdays that start an age band, only for the bands it
    -- reaches (indices from whole ages, then an equi-join); integer date arithmetic, so a
    -- 29 February birthday falls on 1 March in other years
    select
        a.sex, b.age_band,
        greatest(a.entry, make_date(cast(a.birth_year + b.lower_age as integer), a.birth_month, 1) + a.birth_day_offset) as band_start,
        least(a.leave, make_date(cast(least(a.birth_year + b.upper_age, 9999) as integer), a.birth_month, 1) + a.birth_day_offset) as band_end
    from (
        select *, unnest(range({{ age_band_index('age_at_entry', bands) }}, {{ age_band_index('age_at_leave', bands) }} + 1)) as band_index
        from (
            select
                sex, entry, leave,
                cast(year(birth_date) as integer) as birth_year,
                cast(month(birth_date) as integer) as birth_month,
                cast(day(birth_date) - 1 as integer) as birth_day_offset,
                {{ completed_years('birth_date', 'entry') }} as age_at_entry,
                {{ completed_years('birth_date', 'leave') }} as age_at_leave
            from at_risk
            where leave > entry
        )
    ) as a
    join bands as b using (band_index)
),

person_time as (
    select sex, age_band, period, sum(datediff('day', split_start, split_end)) / 365.25 as person_years
    from (
        select
            a.sex, a.age_band, t.period,
            greatest(a.band_start, t.period_start) as split_start,
            least(a.band_end, t.period_end) as split_end
        from (
            select *, unnest(range({{ period_index('band_start', first_year, period_years) }}, {{ period_index('band_end - 1', first_year, period_years) }} + 1)) as period_index
            from age_split
            where band_end > band_start
        ) as a
        join indexed_periods as t using (period_index)
    )
    where split_end > split_start
    group by all
),

events as (
    select e.sex, b.age_band, t.period, count(distinct e.person_id) as events
    from (
        select a.person_id, a.sex, a.first_event_date,
               {{ age_band_index(completed_years('a.birth_date', 'a.first_event_date'), bands) }} as band_index,
               {{ period_index('a.first_event_date', first_year, period_years) }} as period_index
        from at_risk as a
        where a.first_event_date between a.entry and a.leave
          and a.first_event_date <= date '{{ window_end }}'
    ) as e
    join bands as b using (band_index)
    join indexed_periods as t using (period_index)
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
