-- Case and control status of every person for every endpoint.
with definitions as (
    select * from {{ ref('int_endpoint_definitions_parsed') }}
),

evaluation as (
    select name, evaluation from {{ ref('endpoint_definition') }}
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
          from definitions where conditions is not null and conditions_supported)
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
    from definitions as d, unnest(d.control_exclude_list) as x(excluded)
    join base as b on b.endpoint = x.excluded
),

follow_up as (
    select person_id, max(end_date) as followup_end
    from {{ ref('observation_period') }}
    group by person_id
),

grid as (
    select p.person_id, p.sex, p.birth_date, p.death_date_upper,
           d.name as endpoint, d.sex as endpoint_sex, e.evaluation
    from {{ ref('person') }} as p
    cross join definitions as d
    join evaluation as e on e.name = d.name
),

statuses as (
    select
        g.person_id,
        g.endpoint,
        g.evaluation,
        b.person_id is not null and coalesce(c.conditions_met, true) as case_found,
        b.person_id is not null as has_events,
        g.endpoint_sex is not null and g.sex is distinct from g.endpoint_sex as wrong_sex,
        x.person_id is not null as control_excluded,
        b.first_event_date,
        b.age_at_onset,
        b.n_events,
        g.birth_date,
        coalesce(f.followup_end,
                 least(coalesce(g.death_date_upper, date '{{ var("data_end") }}'), date '{{ var("data_end") }}')) as followup_end
    from grid as g
    left join base as b on b.endpoint = g.endpoint and b.person_id = g.person_id
    left join condition_checks as c on c.endpoint = g.endpoint and c.person_id = g.person_id
    left join control_excluded as x on x.endpoint = g.endpoint and x.person_id = g.person_id
    left join follow_up as f on f.person_id = g.person_id
)

select
    person_id,
    endpoint,
    case when evaluation = 'not_applicable' then null else case_found end as is_case,
    case when case_found then first_event_date end as first_event_date,
    case when case_found then age_at_onset end as age_at_onset,
    case when case_found then n_events else 0 end as n_events,
    case
        when evaluation = 'not_applicable' then null
        else not (has_events or wrong_sex or control_excluded)
    end as is_control,
    followup_end,
    {{ age_years('birth_date', 'followup_end') }} as age_at_end
from statuses
