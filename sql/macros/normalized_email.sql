{#- An email address as identity compares it: trimmed, lower case, null when
    empty. One definition for every source's addresses, so that the same
    address from the CRM, the email service and the web tracker is one key. -#}
{% macro normalized_email(expression) -%}
    nullif(lower({{ trim_spaces(expression) }}), '')
{%- endmacro %}

{#- An address a person typed (a CRM contact's, a web form's, a referral's),
    from its normalized form (normalized_email, computed in an earlier CTE:
    the checks below read it a dozen times, and written out each time the
    normalization cost three times the whole staging view): null unless it
    looks like an address (something, an @, then a domain with a dot, and
    no space) and is none of var('placeholder_email_patterns'), the "no
    email" some shops type. A CRM's placeholders ('-', 'n/a',
    'noemail@shop.example') are shared by many contacts and as a key would
    make one person of them all. The email service's addresses are those it
    sends to: normalized only. -#}
{% macro email_address(normalized_column) -%}
    case
        when {{ normalized_column }} like '_%@_%._%' and {{ normalized_column }} not like '%@%@%' and {{ normalized_column }} not like '% %'
            and not ({{ like_any(normalized_column, var('placeholder_email_patterns')) }})
            then {{ normalized_column }}
    end
{%- endmacro %}

{#- Whether a text matches any of a list of SQL LIKE patterns (false for an
    empty list): the shop's own addresses, placeholder addresses. -#}
{% macro like_any(expression, patterns) -%}
    {%- for pattern in patterns -%}
    {{ ' or ' if not loop.first }}{{ expression }} like '{{ pattern | replace("'", "''") }}'
    {%- else -%}
    false
    {%- endfor -%}
{%- endmacro %}
