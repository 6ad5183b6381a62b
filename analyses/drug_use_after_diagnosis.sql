-- Drug use after a diagnosis: among people whose first event of an endpoint falls in the
-- window, how many fill a prescription of an ATC group within `days` after it (and, for
-- comparison, within `days` before it), by sex: a fill is a dispensing on its dispensing date
-- (EDATUM), not the day the prescription was written. Counts pass disclosure control.
{%- set endpoint = var('endpoint', 'E4_DM2') %}
{%- set atc = var('atc', 'A10') %}
{%- set days = var('days', 365) | int %}
{%- set window_start = var('window_start', '2006-01-01') %}
{%- set window_end = var('window_end', var('data_end')) %}
with cases as (
    select s.person_id, p.sex, s.first_event_date
    from {{ ref('endpoint_case') }} as s
    join {{ ref('person') }} as p using (person_id)
    where s.endpoint = '{{ endpoint }}' and p.sex is not null
      and s.first_event_date between date '{{ window_start }}' and date '{{ window_end }}'
),

use as (
    select
        c.person_id, c.sex,
        bool_or(d.dispense_date between c.first_event_date and c.first_event_date + {{ days }}) as after,
        bool_or(d.dispense_date >= c.first_event_date - {{ days }} and d.dispense_date < c.first_event_date) as before
    from cases as c
    left join {{ ref('drug_dispensing') }} as d
      on d.person_id = c.person_id and starts_with(d.atc, '{{ atc }}')
    group by all
),

counts as (
    select '{{ endpoint }}' as endpoint, '{{ atc }}' as atc, {{ days }} as days, sex,
           count(*) as cases,
           count(*) filter (where after) as users_after,
           count(*) filter (where before) as users_before
    from use
    group by all
)

select
    endpoint, atc, days, sex, cases_released as cases, users_after_released as users_after,
    users_before_released as users_before,
    case when not (cases_suppressed or users_after_suppressed)
         then users_after_released / cases_released end as share_after,
    cases_suppressed or users_after_suppressed or users_before_suppressed as any_suppressed
from ({{ disclosure_protect(
        disclosure_protect(
            disclosure_protect('select * from counts', 'cases'),
            'users_after'),
        'users_before') }})
order by sex
