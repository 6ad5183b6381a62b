-- One row per endpoint, pattern column, Swedish register and alternative of the column's
-- regular expression. Alternatives are matched from the start of the normalised code; the
-- literal prefix of each (`I2` for `I2[1-5]`) lets matching join on the first characters
-- before running any regex. '|' inside a bracket class is literal in FinnGen's files and
-- codes never contain it, so it is dropped before splitting. Alternatives FinnGen writes
-- with '&' (two codes on one visit) or a leading '%' (the person's most frequent code) are
-- kept but marked unsupported.
with cells as (
    unpivot (
        select "NAME" as name, {% for c in finngen_pattern_columns() %}"{{ c }}"{{ ", " if not loop.last }}{% endfor %}
        from {{ ref('stg_endpoints__definitions') }}
    )
    on {% for c in finngen_pattern_columns() %}"{{ c }}"{{ ", " if not loop.last }}{% endfor %}
    into name part_column value pattern
),

debracketed as (
    select
        name, part_column, pattern,
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(upper(replace(pattern, ' ', '')), '(\[[^\]|]*)\|', '\1', 'g'), '(\[[^\]|]*)\|', '\1', 'g'), '(\[[^\]|]*)\|', '\1', 'g'), '(\[[^\]|]*)\|', '\1', 'g') as cleaned
    from cells
),

alternatives as (
    select distinct name, part_column, pattern, trim(alternative) as alternative
    from (select *, unnest(string_split(cleaned, '|')) as alternative from debracketed)
    where trim(alternative) <> ''
),

prefixed as (
    select
        *,
        not (contains(alternative, '&') or starts_with(alternative, '%')) as is_supported,
        case when alternative = 'ANY' then '' else alternative end as regex_body,
        regexp_extract(ltrim(alternative, '^'), '^[A-Z0-9]*') as raw_prefix,
        substr(ltrim(alternative, '^'), length(regexp_extract(ltrim(alternative, '^'), '^[A-Z0-9]*')) + 1, 1) as next_char
    from alternatives
),

finished as (
    select
        *,
        case
            when alternative = 'ANY' then ''
            when next_char in ('?', '*', '{') then left(raw_prefix, length(raw_prefix) - 1)
            else raw_prefix
        end as literal_prefix
    from prefixed
)

select
    f.name,
    f.part_column,
    s.part_family,
    s.match_source,
    s.icd_version,
    s.is_exclusion,
    f.pattern,
    f.alternative,
    f.is_supported,
    '^(?:' || f.regex_body || ')' as regex,
    f.literal_prefix,
    left(f.literal_prefix, 2) as bucket
from finished as f
join {{ ref('endpoint_sources') }} as s using (part_column)
