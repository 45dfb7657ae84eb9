{#- The reporting day: var('as_of_date') if set, else the given fallback
    expression (a date computed from the data). -#}
{% macro as_of_date(fallback_expression) -%}
    {%- set configured = var('as_of_date', '') -%}
    {%- if configured -%}cast('{{ configured }}' as date){%- else -%}{{ fallback_expression }}{%- endif -%}
{%- endmacro %}
