{#- An email address as identity compares it: trimmed, lower case, null when
    empty. One definition for every source's addresses, so that the same
    address from the CRM, the email service and the web tracker is one key. -#}
{% macro normalized_email(expression) -%}
    nullif(lower({{ trim_spaces(expression) }}), '')
{%- endmacro %}

{#- An address a person typed (a CRM contact's, a web form's, a referral's):
    normalized as above, and null unless it looks like an address: something,
    an @, then a domain with a dot, and no space. A CRM's placeholders for "no
    email" ('-', 'n/a', 'none') are shared by many contacts and as a key would
    make one person of them all. The email service's addresses are those it
    sends to: normalized only. -#}
{% macro email_address(expression) -%}
    {%- set normalized = normalized_email(expression) -%}
    case
        when {{ normalized }} like '_%@_%._%' and {{ normalized }} not like '%@%@%' and {{ normalized }} not like '% %'
            then {{ normalized }}
    end
{%- endmacro %}
