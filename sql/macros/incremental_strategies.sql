{#- An incremental strategy for rows numbered within a group (a cookie's
    sessions): the new rows of a group replace its stored rows from their
    lowest number on, stored rows they renumber or merge away included, and
    leave the rows before it as they are. unique_key: the group column;
    config replace_from: the number column. -#}
{% macro get_incremental_replace_from_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set group_column = arg_dict['unique_key'] -%}
    {%- set number_column = config.require('replace_from') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    using (
        select {{ group_column }}, min({{ number_column }}) as first_replaced
        from {{ source }}
        group by {{ group_column }}
    ) as replaced
    where
        {{ target }}.{{ group_column }} = replaced.{{ group_column }}
        and {{ target }}.{{ number_column }} >= replaced.first_replaced;

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}

{#- True for a row loaded after everything the incremental model ({{ this }})
    has read: `loaded_at`, the row's load time; `built_loaded_at`, the
    model's column with the load time of what it read. Every row when the
    model is empty. -#}
{% macro loaded_since_last_build(loaded_at, built_loaded_at) -%}
    {{ return(adapter.dispatch('loaded_since_last_build', 'tango')(loaded_at, built_loaded_at)) }}
{%- endmacro %}
{#- Standard SQL: with the model empty the comparison is null, so true. -#}
{% macro default__loaded_since_last_build(loaded_at, built_loaded_at) -%}
    coalesce({{ loaded_at }} > (select max({{ built_loaded_at }}) from {{ this }}), true)
{%- endmacro %}
{#- DuckDB: against minus infinity when the model is empty. -#}
{% macro duckdb__loaded_since_last_build(loaded_at, built_loaded_at) -%}
    {{ loaded_at }} > coalesce((select max({{ built_loaded_at }}) from {{ this }}), '-infinity'::timestamp)
{%- endmacro %}
