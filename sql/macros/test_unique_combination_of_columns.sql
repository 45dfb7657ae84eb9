{#- Generic test: no two rows share the same values in these columns (the
    grain of a model with a composite key). dbt packages are not reachable
    here, so the project keeps its own. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
