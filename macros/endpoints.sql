{#- Columns of FinnGen's endpoint-definition file (DF4/R4 plus the later CONTROL_* columns);
    a file lacking some reads them as NULL. -#}
{% macro finngen_columns() -%}
    {{ return(['TAGS', 'LEVEL', 'OMIT', 'NAME', 'LONGNAME', 'SEX', 'INCLUDE', 'PRE_CONDITIONS',
               'CONDITIONS', 'OUTPAT_ICD', 'HD_MAINONLY', 'HD_ICD_10', 'HD_ICD_9', 'HD_ICD_8',
               'HD_ICD_10_EXCL', 'HD_ICD_9_EXCL', 'HD_ICD_8_EXCL', 'COD_MAINONLY', 'COD_ICD_10',
               'COD_ICD_9', 'COD_ICD_8', 'COD_ICD_10_EXCL', 'COD_ICD_9_EXCL', 'COD_ICD_8_EXCL',
               'OPER_NOM', 'OPER_HL', 'OPER_HP1', 'OPER_HP2', 'KELA_REIMB', 'KELA_REIMB_ICD',
               'KELA_ATC_NEEDOTHER', 'KELA_ATC', 'KELA_VNRO_NEEDOTHER', 'KELA_VNRO', 'CANC_TOPO',
               'CANC_TOPO_EXCL', 'CANC_MORPH', 'CANC_MORPH_EXCL', 'CANC_BEHAV', 'Special',
               'CONTROL_EXCLUDE', 'CONTROL_PRECONDITIONS']) }}
{%- endmacro %}

{#- Pattern columns with a Swedish source (see seed endpoint_sources). -#}
{% macro finngen_pattern_columns() -%}
    {{ return(['OUTPAT_ICD', 'HD_ICD_10', 'HD_ICD_9', 'HD_ICD_8', 'HD_ICD_10_EXCL', 'HD_ICD_9_EXCL',
               'HD_ICD_8_EXCL', 'COD_ICD_10', 'COD_ICD_9', 'COD_ICD_8', 'COD_ICD_10_EXCL',
               'COD_ICD_9_EXCL', 'COD_ICD_8_EXCL', 'OPER_NOM', 'KELA_ATC', 'CANC_TOPO',
               'CANC_TOPO_EXCL', 'CANC_MORPH', 'CANC_MORPH_EXCL']) }}
{%- endmacro %}

{#- Columns whose source Sweden lacks: a non-empty value makes that part not applicable. -#}
{% macro finngen_unavailable_columns() -%}
    {{ return(['KELA_REIMB', 'KELA_REIMB_ICD', 'KELA_VNRO', 'OPER_HL', 'OPER_HP1', 'OPER_HP2',
               'Special', 'CONTROL_PRECONDITIONS']) }}
{%- endmacro %}

{#- A FinnGen field as a cleaned value: trimmed, non-breaking spaces removed, `$!$` (no code)
    and empty as NULL. -#}
{% macro finngen_value(column) -%}
    nullif(nullif(trim(replace({{ column }}, chr(160), '')), ''), '$!$')
{%- endmacro %}
