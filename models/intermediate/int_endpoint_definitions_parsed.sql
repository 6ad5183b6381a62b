-- One row per endpoint with its FinnGen fields parsed: sex, INCLUDE list, PRE_CONDITIONS and
-- CONDITIONS as supported terms, flags, and the parts Sweden cannot evaluate.
{%- set unavailable = finngen_unavailable_columns() %}
with definitions as (
    select * from {{ ref('stg_endpoints__definitions') }}
    qualify row_number() over (partition by "NAME" order by file_row) = 1
),

names as (
    select "NAME" as name from definitions
),

name_list as (
    select list("NAME") as all_names from definitions
),

parsed as (
    select
        d."NAME" as name,
        d.file_row,
        d."LONGNAME" as longname,
        case d."SEX" when '1' then 'male' when '2' then 'female' end as sex,
        coalesce(list_filter(string_split(d."INCLUDE", '|'), x -> trim(x) <> ''), []) as include_list,
        coalesce(list_filter(string_split(d."CONTROL_EXCLUDE", '|'), x -> trim(x) <> ''), []) as control_exclude_list,
        d."PRE_CONDITIONS" as pre_conditions,
        d."CONDITIONS" as conditions,
        coalesce(upper(d."HD_MAINONLY") = 'YES', false) as hd_main_only,
        coalesce(upper(d."COD_MAINONLY") = 'YES', false) as cod_main_only,
        coalesce(upper(d."KELA_ATC_NEEDOTHER") = 'SINGLE_OK', false) as drug_single_ok,
        coalesce(upper(d."KELA_ATC_NEEDOTHER") = 'YES', false) as drug_needs_other,
        d."CANC_BEHAV" as cancer_behaviour,
        d."TAGS" as tags,
        d."LEVEL" as level,
        d."OMIT" as omit,
        [
            {% for c in unavailable %}case when d."{{ c }}" is not null then '{{ c }}' end,
            {% endfor %}
            case when d."KELA_ATC_NEEDOTHER" is not null
                  and upper(d."KELA_ATC_NEEDOTHER") not in ('YES', 'SINGLE_OK') then 'KELA_ATC_NEEDOTHER' end,
            case when d."CANC_BEHAV" is not null and d."CANC_BEHAV" not in ('3', '0', '1', '2') then 'CANC_BEHAV' end
        ] as unavailable_raw
    from definitions as d
),

pre_conditions as (
    -- EVENT_AGE<op>N and EVENT_YEAR<op>N are evaluated per event; anything else is not
    select
        name,
        regexp_extract(pre_conditions, '^(EVENT_AGE|EVENT_YEAR)(<=|>=|<|>|=)([0-9.]+)$', 1) as pre_variable,
        regexp_extract(pre_conditions, '^(EVENT_AGE|EVENT_YEAR)(<=|>=|<|>|=)([0-9.]+)$', 2) as pre_operator,
        try_cast(regexp_extract(pre_conditions, '^(EVENT_AGE|EVENT_YEAR)(<=|>=|<|>|=)([0-9.]+)$', 3) as double) as pre_value
    from parsed
    where pre_conditions is not null
),

condition_terms as (
    select name, list(term) as terms
    from (select name, unnest(string_split(conditions, '&')) as term from parsed where conditions is not null)
    group by name
),

conditions_supported as (
    -- a conjunction of [!]ENDPOINT or [!]ENDPOINT_NEVT<op>N terms over endpoints in this file
    select
        c.name,
        bool_and(
            regexp_full_match(trim(t.term), '!?[A-Za-z0-9_]+((_NEVT)(<=|>=|<|>|=)[0-9]+)?')
            and regexp_extract(trim(t.term), '^!?([A-Za-z0-9_]+?)(_NEVT(<=|>=|<|>|=)[0-9]+)?$', 1) in (select name from names)
        ) as is_supported
    from condition_terms as c, unnest(c.terms) as t(term)
    group by c.name
)

select
    p.name,
    p.file_row,
    p.longname,
    p.sex,
    list_filter(p.include_list, x -> list_contains(n.all_names, x)) as include_list,
    list_filter(p.include_list, x -> not list_contains(n.all_names, x)) as unresolved_includes,
    p.control_exclude_list,
    p.pre_conditions,
    nullif(pc.pre_variable, '') as pre_variable,
    nullif(pc.pre_operator, '') as pre_operator,
    pc.pre_value,
    p.conditions,
    coalesce(cs.is_supported, p.conditions is null) as conditions_supported,
    p.hd_main_only,
    p.cod_main_only,
    p.drug_single_ok,
    p.drug_needs_other,
    p.cancer_behaviour,
    p.tags,
    p.level,
    p.omit,
    list_concat(
        list_filter(p.unavailable_raw, x -> x is not null),
        case when p.pre_conditions is not null and nullif(pc.pre_variable, '') is null then ['PRE_CONDITIONS'] else [] end,
        case when p.conditions is not null and not coalesce(cs.is_supported, false) then ['CONDITIONS'] else [] end
    ) as unavailable_parts
from parsed as p
cross join name_list as n
left join pre_conditions as pc using (name)
left join conditions_supported as cs using (name)
