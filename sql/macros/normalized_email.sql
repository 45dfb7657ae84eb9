{#- An email address as identity compares it: trimmed, lower case, null when
    empty. One definition for every source's addresses, so that the same
    address from the CRM, the email service and the web tracker is one key. -#}
{% macro normalized_email(expression) -%}
    nullif(lower({{ trim_spaces(expression) }}), '')
{%- endmacro %}
