{#- A register code in the form endpoint patterns match: upper case, only letters and digits
    (drops the ICD-10 dot, the ICD-8 comma, dagger/asterisk marks and spaces; keeps the
    Swedish ICD-9 letter, `250A`). Redacted values (`BLANKED`) become NULL. -#}
{% macro normalise_code(column) -%}
    nullif(nullif(regexp_replace(upper(trim({{ column }})), '[^A-Z0-9]', '', 'g'), ''), 'BLANKED')
{%- endmacro %}

{#- A normalised Swedish ICD-9 code in WHO ICD-9 form, so that FinnGen's ICD-9 patterns (WHO
    digits) meet it. Swedish ICD-9 (Klassifikation av sjukdomar 1987, KS87, used 1987-1996)
    writes the fourth character, WHO's fourth digit, as a letter: A-H for 0-7, W for 8, X for 9
    (Socialstyrelsen's KS87: 002A-002D typhoid and paratyphoid A-C, 003W other specified,
    003X unspecified salmonella; also gforge/comorbidities.icd10, preproc.Swedich.ICD9). So
    427D is WHO 427.3 and 295H is 295.7. E codes (E888X) and V codes carry the letter after
    their category the same way. Other codes are returned unchanged. -#}
{% macro icd9_who_form(code) -%}
    {%- set category = "regexp_extract(" ~ code ~ ", '^([0-9]{3}|E[0-9]{3}|V[0-9]{2})[A-HWX]', 1)" -%}
    case when {{ category }} <> ''
         then {{ category }}
              || translate(substr({{ code }}, length({{ category }}) + 1, 1), 'ABCDEFGHWX', '0123456789')
              || substr({{ code }}, length({{ category }}) + 2)
         else {{ code }}
    end
{%- endmacro %}

{#- ICD revision of a Swedish register code from the event date, with the format breaking the
    tie in 1997, when Skåne still used ICD-9 (digits first) while others used ICD-10. -#}
{% macro icd_version(code, event_date) -%}
    case
        when {{ event_date }} < date '1969-01-01' then 7
        when {{ event_date }} < date '1987-01-01' then 8
        when {{ event_date }} < date '1997-01-01' then 9
        when {{ event_date }} < date '1998-01-01' and regexp_matches({{ code }}, '^[0-9]') then 9
        else 10
    end
{%- endmacro %}

{#- Age in years on a date (days / 365.25, three decimals): cheap enough for every event row;
    analyses that need completed years use date_sub('year', ...). -#}
{% macro age_years(birth_date, on_date) -%}
    round(datediff('day', {{ birth_date }}, {{ on_date }}) / 365.25, 3)
{%- endmacro %}

{#- `left <op> right` where op is a column holding one of <, <=, >, >=, =. -#}
{% macro compare_operator(left, operator, right) -%}
    (case {{ operator }}
        when '<' then ({{ left }}) < {{ right }}
        when '<=' then ({{ left }}) <= {{ right }}
        when '>' then ({{ left }}) > {{ right }}
        when '>=' then ({{ left }}) >= {{ right }}
        when '=' then ({{ left }}) = {{ right }}
    end)
{%- endmacro %}

{#- Completed years of age on a date, in integer arithmetic (no calendar intervals). -#}
{% macro completed_years(birth_date, on_date) -%}
    (year({{ on_date }}) - year({{ birth_date }})
     - case when month({{ on_date }}) * 100 + day({{ on_date }}) < month({{ birth_date }}) * 100 + day({{ birth_date }})
            then 1 else 0 end)
{%- endmacro %}
