{#-
  A raw source as a relation that always has every declared column with its declared type,
  and whose person_id follows re-used and changed personnummer.

  The raw layer grows one load folder at a time, so a source may have no files yet (a fresh
  warehouse) or files written before a column existed. The typed empty row set declared in the
  staging folder's _<source>__sources.yml (generated from the contracts by
  `python -m promise.raw_sources --write`) is unioned BY NAME with whatever Parquet exists:
  a column missing from an older load reads as NULL, a missing source as an empty table, and
  source() is still called for lineage. A Parquet column the sources file does not declare
  (a renamed or new column) stops the build, so a renamed column never reaches staging as
  silent NULLs. A load that a correction superseded (its manifest row named in a later load's
  `supersedes`, promise.ingest.corrections) is left out, so no row is counted twice.

  A person-keyed table (config meta resolve_person_ids) then goes through resolved_person_ids:
  a row keyed by a re-used number is attributed by its date (meta event_date) to the holder
  whose period holds it (rows no period, or more than one, holds are left out; they are listed
  in int_person_rows_unattributed with reason reused_personnummer), and every person_id is
  replaced by the person's latest one along the changed numbers, and so is every other
  person's id the row names (meta relative_ids: a Multi-Generation Register row's parents;
  they follow changed numbers but are not attributed by date). The two identity tables
  themselves are read with resolve=false.
-#}
{% macro raw_source(table_name, resolve=true) -%}
    {%- if resolve -%}
        {%- set holders = ref('stg_rtb__reused_personnummer') -%}
        {%- set current = ref('stg_rtb__current_person_ids') -%}
    {%- endif -%}
    {%- set rows = raw_rows(table_name) -%}
    {%- set node = raw_node(table_name) -%}
    {%- if execute and resolve and 'person_id' in node.columns -%}
        ({{ resolved_person_ids(rows, node.config.meta.get('event_date'), holders, current, node.config.meta.get('relative_ids') or []) }})
    {%- else -%}
        ({{ rows }})
    {%- endif -%}
{%- endmacro %}

{% macro raw_rows(table_name) -%}
    {%- set relation = source('raw', table_name) -%}
    {%- set typed_empty = raw_typed_empty(table_name) -%}
    {%- if execute and raw_has_files(table_name) -%}
        {%- do raw_check_declared(table_name) -%}
        {{ typed_empty }} union all by name select * from {{ relation }}{{ raw_live_loads() }}
    {%- else -%}
        {{ typed_empty }}
    {%- endif -%}
{%- endmacro %}

{% macro resolved_person_ids(rows, event_date, holders, current, relative_ids=[]) -%}
    with rows_in as ({{ rows }}),
    {{ reused_attribution(event_date, holders) }},
    resolved as (
        select * from rows_in where person_id not in (select person_id from reused_numbers)
        union all by name
        select r.* replace (a.attributed_person_id as person_id)
        from reused_rows as r
        join attribution as a using (_load_id, _source_line)
        where a.attributed_person_id is not null
    )
    select r.* replace (
        coalesce(c.current_person_id, r.person_id) as person_id
        {%- for column in relative_ids %},
        coalesce(c{{ loop.index }}.current_person_id, r.{{ column }}) as {{ column }}
        {%- endfor %}
    )
    from resolved as r
    left join {{ current }} as c on c.person_id = r.person_id
    {%- for column in relative_ids %}
    left join {{ current }} as c{{ loop.index }} on c{{ loop.index }}.person_id = r.{{ column }}
    {%- endfor %}
{%- endmacro %}

{#- CTEs reused_numbers, reused_rows and attribution (one row per reused row: the holder its
    date attributes it to, NULL when none or several do) over a CTE rows_in. -#}
{% macro reused_attribution(event_date, holders) -%}
    reused_numbers as (select distinct person_id from {{ holders }} where person_id is not null),
    reused_rows as (
        select * from rows_in where person_id in (select person_id from reused_numbers)
    ),
    attribution as (
        select
            r._load_id,
            r._source_line,
            count(distinct h.holder_person_id) as holders_matched,
            case when count(distinct h.holder_person_id) = 1 then min(h.holder_person_id) end
                as attributed_person_id
        from reused_rows as r
        left join {{ holders }} as h
            on h.person_id = r.person_id
            {%- if event_date %}
            and r.{{ event_date }} between h.valid_from and coalesce(h.valid_to, date '9999-12-31')
            {%- else %}
            and false
            {%- endif %}
        group by r._load_id, r._source_line
    )
{%- endmacro %}

{% macro raw_glob(table_name) -%}
    {{ env_var('PROMISE_WAREHOUSE', 'warehouse') }}/raw/{{ table_name }}/*/data*.parquet
{%- endmacro %}

{% macro raw_has_files(table_name) -%}
    {%- set result = run_query("select count(*) from glob('" ~ raw_glob(table_name) ~ "')") -%}
    {{- return(result.columns[0].values()[0] > 0) -}}
{%- endmacro %}

{% macro raw_node(table_name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{- return(graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | selectattr('name', 'equalto', table_name) | first) -}}
{%- endmacro %}

{% macro raw_check_declared(table_name) -%}
    {%- set node = raw_node(table_name) -%}
    {%- set found = run_query("select column_name from (describe select * from read_parquet('" ~ raw_glob(table_name) ~ "', union_by_name = true))").columns[0].values() -%}
    {%- set undeclared = [] -%}
    {%- for name in found if name not in node.columns -%}{%- do undeclared.append(name) -%}{%- endfor -%}
    {%- if undeclared -%}
        {{ exceptions.raise_compiler_error("raw." ~ table_name ~ " has column(s) " ~ undeclared | join(', ') ~ " that no contract declares (the staging folder's sources file is generated from data-contracts/): a renamed column would reach staging as NULL; correct the contract, run `python -m promise.raw_sources --write` and build again.") }}
    {%- endif -%}
{%- endmacro %}

{% macro raw_typed_empty(table_name) -%}
    {%- if not execute -%}{{ return('select 1 where false') }}{%- endif -%}
    {%- set node = raw_node(table_name) -%}
    select
    {%- for column in node.columns.values() %}
        cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}

{% macro raw_live_loads() -%}
    {%- set manifests = env_var('PROMISE_WAREHOUSE', 'warehouse') ~ "/raw/*/*/manifest.parquet" -%}
    {%- set rows = "read_parquet('" ~ manifests ~ "', union_by_name=true)" -%}
    {#- a raw layer written without manifests (a hand-made one) has no superseded load -#}
    {%- if run_query("select count(*) from glob('" ~ manifests ~ "')").columns[0].values()[0] == 0 -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set found = run_query("select count(*) from (describe select * from " ~ rows ~ ") where column_name = 'supersedes'") -%}
    {%- if found.columns[0].values()[0] > 0 -%}
        {{ " where _load_id not in (select supersedes from " ~ rows ~ " where supersedes is not null)" }}
    {%- endif -%}
{%- endmacro %}
