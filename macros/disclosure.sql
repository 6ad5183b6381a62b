{#-
  Disclosure control in SQL for a one-way table (promise.disclosure does n-way tables).

  Wraps `relation_sql` (a query) and adds, for each column in `count_columns`:
  `<col>_suppressed` and `<col>_released`. Counts from 1 to threshold-1 are suppressed
  (primary); within each partition (the cells whose total may be published) a lone suppressed
  cell takes the partition's smallest positive released cell with it (secondary), so the total
  never gives it away. Released counts are rounded to var('disclosure_round_to') when > 0.
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
            else round({{ count_column }} / {{ round_to }}) * {{ round_to }}
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
