{#- Index (0-based) of the age band holding `age`, for bands given by their lower limits. -#}
{% macro age_band_index(age, lower_limits) -%}
    case {% for lo in lower_limits | reverse %}when {{ age }} >= {{ lo }} then {{ lower_limits | length - loop.index }} {% endfor %}else 0 end
{%- endmacro %}

{#- Index of the calendar period holding `day`, for periods of `years` from `first_year`. -#}
{% macro period_index(day, first_year, years) -%}
    cast((year({{ day }}) - {{ first_year }}) // {{ years }} as integer)
{%- endmacro %}
