-- One row per endpoint, pattern column, Swedish register and alternative of the column's
-- regular expression. Alternatives are matched from the start of the normalised code; the
-- literal prefix of each (`I2` for `I2[1-5]`) lets matching join on the first characters
-- before running any regex. '|' inside a bracket class is literal in FinnGen's files and
-- codes never contain it, so it is dropped before splitting. Alternatives FinnGen writes
-- with '&' (two codes on one visit) or a leading '%' (the person's most frequent code) are
-- kept but marked unsupported, and so are ICD-9 alternatives that need Finland's fifth-position
-- letter (see icd9 below).
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

sourced as (
    select a.*, s.part_family, s.match_source, s.icd_version, s.is_exclusion
    from alternatives as a
    join {{ ref('endpoint_sources') }} as s using (part_column)
),

icd9 as (
    -- Codes are matched in WHO form (int_diagnoses_normalised.code_who), so an ICD-9
    -- alternative written the Swedish way (427D, 427[DX]) has its fourth-position letter turned
    -- into the digit too. FinnGen writes Finland's ICD-9, whose fifth position carries a Finnish
    -- subdivision letter (2500A type 2 and 2500B type 1 diabetes, 4330A and 4330X) that Swedish
    -- ICD-9 does not record: a Swedish 250A may be either. Such an inclusion stays unmatched
    -- (reported in endpoint_definition), since no Swedish code can be told to be it; such an
    -- exclusion applies to its four-character stem (7980A excludes 798A), since a code that
    -- may be the excluded one must not make a case.
    select
        *,
        contains(part_column, '_ICD_9') as is_icd9,
        regexp_extract(alternative, '^[0-9]{3}([A-HWX]|\[[A-HWX-]+\])', 1) as swedish_letter,
        regexp_extract(alternative, '^([0-9]{3}([0-9.]|\[[0-9-]+\]))([A-Z]|\[[A-Z-]+\])', 1) as finnish_stem
    from sourced
),

translated as (
    select
        *,
        is_icd9 and finnish_stem <> '' and not is_exclusion as icd9_unmatched,
        case
            when is_icd9 and swedish_letter <> ''
                then left(alternative, 3) || translate(swedish_letter, 'ABCDEFGHWX', '0123456789')
                     || substr(alternative, 4 + length(swedish_letter))
            when is_icd9 and finnish_stem <> '' then finnish_stem
            else alternative
        end as match_form
    from icd9
),

prefixed as (
    select
        *,
        not (contains(alternative, '&') or starts_with(alternative, '%') or icd9_unmatched) as is_supported,
        case when alternative = 'ANY' then '' else match_form end as regex_body,
        regexp_extract(ltrim(match_form, '^'), '^[A-Z0-9]*') as raw_prefix,
        substr(ltrim(match_form, '^'), length(regexp_extract(ltrim(match_form, '^'), '^[A-Z0-9]*')) + 1, 1) as next_char
    from translated
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
    name,
    part_column,
    part_family,
    match_source,
    icd_version,
    is_exclusion,
    pattern,
    alternative,
    is_supported,
    icd9_unmatched,
    '^(?:' || regex_body || ')' as regex,
    literal_prefix,
    left(literal_prefix, 2) as bucket
from finished
