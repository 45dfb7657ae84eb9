{#- Late or re-sent files can bring an event in more than once. The copy that
    counts is its first load, then the first file and line of that load, so
    the pick is the same on every build. Ordering every event to find the few
    repeated ones would sort tens of millions of rows in each model that reads
    them; instead, a small table lists the repeated keys once
    (first_copies_of_repeated_keys) and readers drop the other copies with a
    join (without_later_copies). The relations are raw tables, with the
    loader's _loaded_at, _origin and _line. -#}

{% macro first_copies_of_repeated_keys(relation, key) -%}
    select {{ key }}, _loaded_at, _origin, _line
    from {{ relation }}
    where {{ key }} in (
        select {{ key }} from {{ relation }} group by {{ key }} having count(*) > 1
    )
    qualify row_number() over (partition by {{ key }} order by _loaded_at, _origin, _line) = 1
{%- endmacro %}

{% macro without_later_copies(relation, first_copies, key) -%}
    select {{ relation }}.*
    from {{ relation }}
    left join {{ first_copies }}
        on {{ relation }}.{{ key }} = {{ first_copies }}.{{ key }}
    where
        {{ first_copies }}.{{ key }} is null
        or (
            {{ relation }}._loaded_at = {{ first_copies }}._loaded_at
            and {{ relation }}._origin = {{ first_copies }}._origin
            and {{ relation }}._line is not distinct from {{ first_copies }}._line
        )
{%- endmacro %}
