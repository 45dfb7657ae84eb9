{#- A CRM marks a record it deleted with is_deleted (the PostgreSQL source's
    `deleted` condition, or an is_deleted column in an export or API). The
    raw tables keep such rows, so that nothing that came in is lost; the
    models treat them as gone, as if the CRM had removed them: a deleted
    order earns nothing, a deleted contact is no customer and is on no list
    (orders that still name it make it a customer known by its contact id
    alone, like any contact the orders name and the contacts lack). Each CRM
    staging model reads its source through this. -#}
{% macro without_soft_deletes(relation) -%}
    select * from {{ relation }}
    where not coalesce(is_deleted, false)
{%- endmacro %}
