-- Parsed endpoint definitions with how far Sweden's registers can evaluate each. Pattern
-- alternatives promise cannot run ('&', '%') are listed as PATTERN:..., ICD-9 inclusions that
-- need Finland's fifth-position letter, which no Swedish ICD-9 code records, as
-- ICD9_UNMATCHED:... (int_endpoint_patterns); either makes the evaluation partial.
with pattern_summary as (
    select
        name,
        count(distinct case when is_supported then part_column end) as n_pattern_columns,
        list(distinct alternative order by alternative)
            filter (where not is_supported and not icd9_unmatched) as unsupported_alternatives,
        list(distinct alternative order by alternative) filter (where icd9_unmatched) as icd9_unmatched
    from {{ ref('int_endpoint_patterns') }}
    group by name
),

summary as (
    select
        d.*,
        coalesce(p.n_pattern_columns, 0) as n_pattern_columns,
        coalesce(p.unsupported_alternatives, []) as unsupported_alternatives,
        coalesce(p.icd9_unmatched, []) as icd9_unmatched
    from {{ ref('int_endpoint_definitions_parsed') }} as d
    left join pattern_summary as p using (name)
)

select
    name,
    longname,
    sex,
    include_list as includes,
    unresolved_includes,
    control_exclude_list as control_excludes,
    pre_conditions,
    conditions,
    hd_main_only,
    cod_main_only,
    drug_single_ok,
    drug_needs_other,
    n_pattern_columns,
    list_concat(
        unavailable_parts,
        case when len(unsupported_alternatives) > 0 then ['PATTERN:' || array_to_string(unsupported_alternatives, '|')] else [] end,
        case when len(icd9_unmatched) > 0 then ['ICD9_UNMATCHED:' || array_to_string(icd9_unmatched, '|')] else [] end,
        case when len(unresolved_includes) > 0 then ['INCLUDE:' || array_to_string(unresolved_includes, '|')] else [] end,
        case when n_pattern_columns = 0 and len(include_list) = 0
             then ['NO_SWEDISH_CODES' || case when conditions is not null then ' (CONDITIONS only)' else '' end]
             else [] end
    ) as not_applicable_parts,
    case
        when n_pattern_columns = 0 and len(include_list) = 0 then 'not_applicable'
        when len(unavailable_parts) > 0 or len(unsupported_alternatives) > 0
             or len(icd9_unmatched) > 0 or len(unresolved_includes) > 0 then 'partial'
        else 'evaluated'
    end as evaluation,
    file_row
from summary
