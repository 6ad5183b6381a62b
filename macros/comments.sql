{#- COMMENT ON statements for gwas_phenotype's generated columns, run as its post-hook: one per
    endpoint column (its LONGNAME and coding) and one per omics column (platform and unit), so
    that, like every declared mart column (persist_docs), they carry a description in
    duckdb_columns(). -#}
{% macro gwas_phenotype_column_comments(relation) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set endpoints = run_query("select name, coalesce(longname, name) from " ~ ref('endpoint_definition')) -%}
    {%- set traits = run_query("select analyte_name, any_value(platform), any_value(unit) from " ~ ref('omics_measurement') ~ " where analyte_name is not null group by 1") -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set statements = [] -%}
    {%- for name, longname in endpoints.rows if name in columns -%}
        {%- do statements.append("comment on column " ~ relation ~ '."' ~ name | replace('"', '""') ~ '" is ' ~ "'"
            ~ (longname ~ ': 1 case, 0 control, NULL neither (endpoint_status)') | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {%- for name, platform, unit in traits.rows if name in columns -%}
        {%- do statements.append("comment on column " ~ relation ~ '."' ~ name | replace('"', '""') ~ '" is ' ~ "'"
            ~ (platform ~ ' ' ~ name ~ ' (' ~ unit ~ ") of the person's first sample") | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}
