{#- The build that writes a row: the tango transform run (both of its dbt
    calls: $TANGO_RUN_ID, set by pipelines/transform.ts), else dbt's own
    invocation. Incremental models keep it per row as build_id, so that their
    data tests can read only the rows this build wrote (below). -#}
{% macro build_id() -%}
    {{ return(env_var('TANGO_RUN_ID', invocation_id)) }}
{%- endmacro %}

{#- dbt's where config for data tests, with one placeholder:
    __written_in_this_build__ stands for the rows of an incremental model
    that this build wrote. A daily build then tests the rows it wrote, not
    the whole history again (the unique test of tens of millions of events
    took 10-14 s of every daily run at 1 M people); a full build writes, and
    tests, every row. Rows a build keeps are not tested again; they passed
    when written, and each incremental strategy replaces rows by their key,
    so a new row cannot repeat a kept one's. (This overrides dbt's macro of
    the same name, as dbt's docs on the where config show.) -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__written_in_this_build__', "build_id = '" ~ build_id() ~ "'") -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
