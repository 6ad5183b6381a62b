{#-
  A raw source as a relation that always has every declared column with its declared type.

  The raw layer grows one load folder at a time, so a source may have no files yet (a fresh
  warehouse) or files written before a column existed. The typed empty row set declared in
  _raw__sources.yml is unioned BY NAME with whatever Parquet exists: missing columns read as
  NULL, a missing source reads as an empty table, and source() is still called for lineage.
  A load that a correction superseded (its manifest row named in a later load's `supersedes`,
  promise.ingest.corrections) is left out, so no row is counted twice.
-#}
{% macro raw_source(table_name) -%}
    {%- set relation = source('raw', table_name) -%}
    {%- set typed_empty = raw_typed_empty(table_name) -%}
    {%- if execute and raw_has_files(table_name) -%}
        ({{ typed_empty }} union all by name select * from {{ relation }}{{ raw_live_loads() }})
    {%- else -%}
        ({{ typed_empty }})
    {%- endif -%}
{%- endmacro %}

{% macro raw_glob(table_name) -%}
    {{ env_var('PROMISE_WAREHOUSE', 'warehouse') }}/raw/{{ table_name }}/*/data*.parquet
{%- endmacro %}

{% macro raw_has_files(table_name) -%}
    {%- set result = run_query("select count(*) from glob('" ~ raw_glob(table_name) ~ "')") -%}
    {{- return(result.columns[0].values()[0] > 0) -}}
{%- endmacro %}

{% macro raw_typed_empty(table_name) -%}
    {%- if not execute -%}{{ return('select 1 where false') }}{%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | selectattr('name', 'equalto', table_name) | first -%}
    select
    {%- for column in node.columns.values() %}
        cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}

{% macro raw_live_loads() -%}
    {%- set manifests = env_var('PROMISE_WAREHOUSE', 'warehouse') ~ "/raw/*/*/manifest.parquet" -%}
    {%- set rows = "read_parquet('" ~ manifests ~ "', union_by_name=true)" -%}
    {%- set found = run_query("select count(*) from (describe select * from " ~ rows ~ ") where column_name = 'supersedes'") -%}
    {%- if found.columns[0].values()[0] > 0 -%}
        {{ " where _load_id not in (select supersedes from " ~ rows ~ " where supersedes is not null)" }}
    {%- endif -%}
{%- endmacro %}
