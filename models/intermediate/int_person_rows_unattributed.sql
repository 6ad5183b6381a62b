-- One row per raw register row kept out of the marts because its personnummer was re-used and
-- nothing says whose it is: its date falls in no holder's period, or in more than one, or its
-- source has no date to attribute it by (reason reused_personnummer, in the quarantine's
-- columns; data-contracts/pnr_reuse.odcs.yaml). The list of person-keyed tables is checked
-- against the generated sources files by tests/build/test_raw_sources.py.
{%- set holders = ref('stg_rtb__reused_personnummer') %}
{%- set tables = ['population', 'migration', 'multigen', 'npr_inpatient', 'npr_outpatient', 'lmed', 'dors',
                  'cancer', 'biobank', 'genotyped_samples'] %}
{% for table in tables %}
{%- set node = raw_node(table) %}
{%- set event_date = node.config.meta.get('event_date') if execute else none %}
select * from (
    with rows_in as ({{ raw_rows(table) }}),
    {{ reused_attribution(event_date, holders) }}
    select
        r._load_id as load_id,
        '{{ table }}' as source,
        r._source_file as file,
        r._source_line as line,
        'person_id' as "column",
        'reused_personnummer' as reason,
        {%- if event_date %}
        case
            when a.holders_matched = 0
                then 'the number was re-used and the row''s {{ event_date }} falls in no holder''s period'
            else 'the number was re-used and the row''s {{ event_date }} falls in the periods of more than one holder'
        end as detail,
        {%- else %}
        'the number was re-used and {{ table }} rows have no date to attribute them by' as detail,
        {%- endif %}
        cast(null as varchar) as record
    from reused_rows as r
    join attribution as a using (_load_id, _source_line)
    where a.attributed_person_id is null
)
{{ "union all" if not loop.last }}
{% endfor %}
