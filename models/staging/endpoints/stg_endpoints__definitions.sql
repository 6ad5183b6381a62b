-- One row per endpoint of the FinnGen-format definition file: the shipped Swedish seed, or
-- the TSV named by var('endpoints_file') (`promise build --endpoints FILE`). Comment rows
-- (NAME starting with '#') are dropped; missing columns read as NULL. comment = '' because
-- DuckDB's sniffer otherwise takes '#' for a comment marker when most TAGS start with it
-- (as in the shipped seed) and silently drops those endpoints.
{%- set columns = finngen_columns() %}
with typed_empty as (
    select {% for c in columns %}cast(null as varchar) as "{{ c }}"{{ ", " if not loop.last }}{% endfor %}
    where false
),

file_rows as (
{%- if var('endpoints_file') %}
    select *
    from read_csv('{{ var("endpoints_file") }}', delim = '\t', header = true, all_varchar = true,
                  quote = '', escape = '', comment = '', null_padding = true, encoding = 'utf-8')
{%- else %}
    select * from {{ ref('finngen_endpoints_se') }}
{%- endif %}
),

all_columns as (
    select * from typed_empty
    union all by name
    select * from file_rows
)

select
    row_number() over () as file_row,
    {% for c in columns %}{{ finngen_value('"' ~ c ~ '"') }} as "{{ c }}"{{ "," if not loop.last }}
    {% endfor %}
from all_columns
where trim("NAME") <> '' and not starts_with(trim("NAME"), '#')
