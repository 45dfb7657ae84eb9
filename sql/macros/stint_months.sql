{#- The month ends a lifecycle stint [valid_from, valid_to) holds on, as two
    columns: those of the months from from_month, the month it starts in, up
    to, not including, until_month, the month it ends in (null while it
    lasts). The end of the last month is the reporting day, and every stint
    starts and ends by it: a stint holds on the end of the month it starts
    in unless it ends in that month too, and never on the end of the month
    it ends in. A stint that starts and ends in one month holds on none.
    rpt_stage_mix_monthly and rpt_stage_flows count month ends this way. -#}
{% macro stint_months(valid_from, valid_to) -%}
    {{ month_start(valid_from) }} as from_month,
    {{ month_start(valid_to) }} as until_month
{%- endmacro %}
