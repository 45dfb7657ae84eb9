{#- The reporting day: var('as_of_date') if set, else the given fallback
    expression (a date computed from the data). -#}
{% macro as_of_date(fallback_expression) -%}
    {%- set configured = var('as_of_date', '') -%}
    {%- if configured -%}cast('{{ configured }}' as date){%- else -%}{{ fallback_expression }}{%- endif -%}
{%- endmacro %}

{#- Whether the period (day, week, month) starting at `start_expression`
    `count_expression` periods on is over by the reporting day: true once the
    reporting day reaches its last day. Reads `settings.as_of_date`: the
    caller has int_reporting_settings as `settings`. -#}
{% macro period_complete_by_reporting_day(period, start_expression, count_expression=1) -%}
    {{ add_periods(period, start_expression, count_expression) }} <= {{ add_periods('day', 'settings.as_of_date', 1) }}
{%- endmacro %}
