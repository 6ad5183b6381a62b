-- Case and control status of every person for every endpoint. The grid (persons x endpoints)
-- is the big part: per-person and per-pair facts are computed first and joined once.
with definitions as (
    select d.name, d.sex as endpoint_sex, e.evaluation
    from {{ ref('int_endpoint_definitions_parsed') }} as d
    join {{ ref('endpoint_definition') }} as e using (name)
),

base as (
    select endpoint, person_id, min(event_date) as first_event_date,
           count(distinct event_id) as n_events, min(age_at_event) as age_at_onset
    from {{ ref('endpoint_event') }}
    group by endpoint, person_id
),

terms as (
    select name as endpoint, trim(term) as term
    from (select name, unnest(string_split(conditions, '&')) as term
          from {{ ref('int_endpoint_definitions_parsed') }}
          where conditions is not null and conditions_supported)
),

parsed_terms as (
    select
        endpoint,
        starts_with(term, '!') as negated,
        regexp_extract(term, '^!?([A-Za-z0-9_]+?)(_NEVT(<=|>=|<|>|=)[0-9]+)?$', 1) as referenced,
        nullif(regexp_extract(term, '_NEVT(<=|>=|<|>|=)([0-9]+)$', 1), '') as nevt_operator,
        try_cast(nullif(regexp_extract(term, '_NEVT(<=|>=|<|>|=)([0-9]+)$', 2), '') as integer) as nevt_value
    from terms
),

condition_checks as (
    -- CONDITIONS are judged on the referenced endpoints' cases before their own CONDITIONS
    select
        b.endpoint, b.person_id,
        bool_and(
            (case when t.nevt_operator is null then r.person_id is not null
                  else {{ compare_operator('coalesce(r.n_events, 0)', 't.nevt_operator', 't.nevt_value') }} end)
            <> t.negated
        ) as conditions_met
    from base as b
    join parsed_terms as t on t.endpoint = b.endpoint
    left join base as r on r.endpoint = t.referenced and r.person_id = b.person_id
    group by b.endpoint, b.person_id
),

control_excluded as (
    select distinct d.name as endpoint, b.person_id
    from {{ ref('int_endpoint_definitions_parsed') }} as d, unnest(d.control_exclude_list) as x(excluded)
    join base as b on b.endpoint = x.excluded
),

pairs as (
    -- every (endpoint, person) with anything to say, one row each
    select
        coalesce(b.endpoint, x.endpoint) as endpoint,
        coalesce(b.person_id, x.person_id) as person_id,
        b.person_id is not null as has_events,
        b.person_id is not null and coalesce(c.conditions_met, true) as case_found,
        x.person_id is not null as control_excluded,
        b.first_event_date, b.age_at_onset, b.n_events
    from base as b
    left join condition_checks as c using (endpoint, person_id)
    full outer join control_excluded as x on x.endpoint = b.endpoint and x.person_id = b.person_id
),

people as (
    select
        p.person_id, p.sex,
        coalesce(f.followup_end,
                 least(coalesce(p.death_date, date '{{ var("data_end") }}'), date '{{ var("data_end") }}')) as followup_end,
        {{ age_years('p.birth_date', "coalesce(f.followup_end, least(coalesce(p.death_date, date '" ~ var('data_end') ~ "'), date '" ~ var('data_end') ~ "'))") }} as age_at_end
    from {{ ref('person') }} as p
    left join (
        select person_id, max(end_date) as followup_end
        from {{ ref('observation_period') }}
        group by person_id
    ) as f using (person_id)
)

select
    g.person_id,
    d.name as endpoint,
    case when d.evaluation = 'not_applicable' then null else coalesce(s.case_found, false) end as is_case,
    case when s.case_found then s.first_event_date end as first_event_date,
    case when s.case_found then s.age_at_onset end as age_at_onset,
    case when s.case_found then s.n_events else 0 end as n_events,
    case
        when d.evaluation = 'not_applicable' then null
        else not (coalesce(s.has_events, false) or coalesce(s.control_excluded, false)
                  or (d.endpoint_sex is not null and g.sex is distinct from d.endpoint_sex))
    end as is_control,
    g.followup_end,
    g.age_at_end
from people as g
cross join definitions as d
left join pairs as s on s.endpoint = d.name and s.person_id = g.person_id
