{#- Models land in the schema their folder names (staging, marts, reports),
    not in "<target schema>_<folder>", so that the report and the docs can name
    them plainly. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
