{#-
  Disclosure control in SQL for a one-way table, for work inside the warehouse. What leaves
  it goes through `promise export` (promise.privacy.export), which compiles analyses with
  raw counts and applies n-way primary and secondary suppression and rounding itself, at the
  warehouse's threshold floor or above; this macro's threshold is a dbt var and no release.

  Wraps `relation_sql` (a query) and adds, for each column in `count_columns`:
  `<col>_suppressed` and `<col>_released`. Counts from 1 to threshold-1 are suppressed
  (primary); within each partition (the cells whose total may be published) a lone suppressed
  cell takes the partition's smallest positive released cell with it (secondary), so the total
  never gives it away. Released counts are rounded to var('disclosure_round_to') when > 0,
  never below the threshold (7 with threshold 6 and rounding 5 gives 10, not 5).
-#}
{% macro disclosure_protect(relation_sql, count_column, partition_by=[], threshold=none, round_to=none) -%}
    {%- set threshold = threshold if threshold is not none else var('disclosure_threshold') -%}
    {%- set round_to = round_to if round_to is not none else var('disclosure_round_to') -%}
    {%- set over = ('partition by ' ~ partition_by | join(', ')) if partition_by else '' -%}
    select
        * exclude (_primary, _n_primary, _complement_rank),
        _primary or (_n_primary = 1 and _complement_rank = 1) as {{ count_column }}_suppressed,
        case
            when _primary or (_n_primary = 1 and _complement_rank = 1) then null
            {%- if round_to | int > 0 %}
            when {{ count_column }} = 0 then 0
            else greatest(round({{ count_column }} / {{ round_to }}) * {{ round_to }},
                          ceil({{ threshold }} / {{ round_to }}) * {{ round_to }})
            {%- else %}
            else {{ count_column }}
            {%- endif %}
        end as {{ count_column }}_released
    from (
        select
            *,
            sum(case when _primary then 1 else 0 end) over ({{ over }}) as _n_primary,
            row_number() over (
                {{ over }}
                order by case when not _primary and {{ count_column }} > 0 then {{ count_column }} end asc nulls last
            ) as _complement_rank
        from (
            select *, ({{ count_column }} > 0 and {{ count_column }} < {{ threshold }}) as _primary
            from ({{ relation_sql }})
        )
    )
{%- endmacro %}
