-- Events of every endpoint: its own qualifying events plus those of the endpoints it
-- includes (recursively), restricted to the endpoint's sex and PRE_CONDITIONS.
with definitions as (
    select * from {{ ref('int_endpoint_definitions_parsed') }}
),

candidate as (
    select
        c.endpoint,
        e.person_id,
        e.event_id,
        e.event_date,
        e.source,
        e.code,
        c.member as via_endpoint,
        {{ age_years('e.birth_date', 'e.event_date') }} as age_at_event
    from {{ ref('int_endpoint_include_closure') }} as c
    join {{ ref('int_endpoint_direct_events') }} as e on e.name = c.member
    join definitions as member_definition on member_definition.name = c.member
    where member_definition.pre_variable is null
       or {{ compare_operator(
              "case member_definition.pre_variable when 'EVENT_AGE' then " ~ age_years('e.birth_date', 'e.event_date') ~ " else year(e.event_date) end",
              'member_definition.pre_operator', 'member_definition.pre_value') }}
),

restricted as (
    select c.*
    from candidate as c
    join definitions as d on d.name = c.endpoint
    left join {{ ref('int_persons_deduplicated') }} as p using (person_id)
    where (d.sex is null or p.sex = d.sex)
      and (d.pre_variable is null or {{ compare_operator(
              "case d.pre_variable when 'EVENT_AGE' then c.age_at_event else year(c.event_date) end",
              'd.pre_operator', 'd.pre_value') }})
)

select
    endpoint || '|' || event_id || '|' || coalesce(code, '') as endpoint_event_id,
    endpoint,
    person_id,
    event_id,
    event_date,
    source,
    code,
    min(via_endpoint) as via_endpoint,
    min(age_at_event) as age_at_event
from restricted
group by endpoint, person_id, event_id, event_date, source, code
