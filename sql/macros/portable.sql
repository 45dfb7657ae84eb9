{#- Date and aggregate SQL that differs between engines, behind adapter
    dispatch: models call these, and a second engine adds its own
    <adapter>__<name> without touching the models. The default__ versions use
    dbt's cross-database macros or standard SQL. -#}

{% macro month_start(timestamp_expression) -%}
    {{ return(adapter.dispatch('month_start', 'tango')(timestamp_expression)) }}
{%- endmacro %}
{% macro default__month_start(timestamp_expression) -%}
    cast({{ dbt.date_trunc('month', timestamp_expression) }} as date)
{%- endmacro %}
{% macro duckdb__month_start(timestamp_expression) -%}
    cast(date_trunc('month', {{ timestamp_expression }}) as date)
{%- endmacro %}

{#- A month as YYYY-MM text, for labels and filters. -#}
{% macro month_label(date_expression) -%}
    {{ return(adapter.dispatch('month_label', 'tango')(date_expression)) }}
{%- endmacro %}
{% macro default__month_label(date_expression) -%}
    to_char({{ date_expression }}, 'YYYY-MM')
{%- endmacro %}
{% macro duckdb__month_label(date_expression) -%}
    strftime({{ date_expression }}, '%Y-%m')
{%- endmacro %}

{#- Weeks start on Monday (ISO). -#}
{% macro week_start(timestamp_expression) -%}
    {{ return(adapter.dispatch('week_start', 'tango')(timestamp_expression)) }}
{%- endmacro %}
{% macro default__week_start(timestamp_expression) -%}
    cast({{ dbt.date_trunc('week', timestamp_expression) }} as date)
{%- endmacro %}
{% macro duckdb__week_start(timestamp_expression) -%}
    cast(date_trunc('week', {{ timestamp_expression }}) as date)
{%- endmacro %}

{#- Whole calendar periods (day, week, month) from one date to a later one. -#}
{% macro periods_between(period, start_date, end_date) -%}
    {{ return(adapter.dispatch('periods_between', 'tango')(period, start_date, end_date)) }}
{%- endmacro %}
{% macro default__periods_between(period, start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, period) }}
{%- endmacro %}
{% macro duckdb__periods_between(period, start_date, end_date) -%}
    date_diff('{{ period }}', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{#- A date plus a number of periods (day, week, month), as a date. -#}
{% macro add_periods(period, date_expression, count_expression) -%}
    {{ return(adapter.dispatch('add_periods', 'tango')(period, date_expression, count_expression)) }}
{%- endmacro %}
{% macro default__add_periods(period, date_expression, count_expression) -%}
    cast({{ dbt.dateadd(period, count_expression, date_expression) }} as date)
{%- endmacro %}
{% macro duckdb__add_periods(period, date_expression, count_expression) -%}
    cast({{ date_expression }} + to_{{ period }}s(cast({{ count_expression }} as integer)) as date)
{%- endmacro %}

{#- One row per whole number from start to end (inclusive), as a select-list expression. -#}
{% macro integer_series(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('integer_series', 'tango')(start_expression, end_expression)) }}
{%- endmacro %}
{% macro duckdb__integer_series(start_expression, end_expression) -%}
    unnest(range(cast({{ start_expression }} as bigint), cast({{ end_expression }} as bigint) + 1))
{%- endmacro %}

{#- A UTC instant (timestamp with time zone) as a plain UTC timestamp.
    DuckDB's `at time zone` goes through ICU for every value (about 9 s per
    65 M web events); the epoch in microseconds is the same instant with no
    time-zone arithmetic. -#}
{% macro utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'tango')(expression)) }}
{%- endmacro %}
{% macro default__utc_timestamp(expression) -%}
    ({{ expression }} at time zone 'UTC')
{%- endmacro %}
{% macro duckdb__utc_timestamp(expression) -%}
    make_timestamp(epoch_us({{ expression }}))
{%- endmacro %}

{#- trim(): DuckDB removes Unicode space separators from both ends, which
    costs a new string per value (about 9 s per 65 M web events' emails). In
    a pure-ASCII value (as many bytes as characters) the only such character
    is ' ', so a value that is ASCII and has no space at either end is
    returned as it is; the rest go through trim(). -#}
{% macro trim_spaces(expression) -%}
    {{ return(adapter.dispatch('trim_spaces', 'tango')(expression)) }}
{%- endmacro %}
{% macro default__trim_spaces(expression) -%}
    trim({{ expression }})
{%- endmacro %}
{% macro duckdb__trim_spaces(expression) -%}
    case
        when strlen({{ expression }}) = length({{ expression }})
            and not starts_with({{ expression }}, ' ')
            and not ends_with({{ expression }}, ' ')
        then {{ expression }}
        else trim({{ expression }})
    end
{%- endmacro %}

{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'tango')(expression)) }}
{%- endmacro %}
{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{#- The continuous quantile `fraction` (0-1) of an aggregate. -#}
{% macro quantile(expression, fraction) -%}
    {{ return(adapter.dispatch('quantile', 'tango')(expression, fraction)) }}
{%- endmacro %}
{% macro default__quantile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__quantile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- The value of the row that comes first in `order_expression`, skipping
    nulls; `tie_breaker` (an expression) decides between rows that tie. -#}
{% macro first_value_by(value_expression, order_expression, tie_breaker=none) -%}
    {{ return(adapter.dispatch('first_value_by', 'tango')(value_expression, order_expression, tie_breaker)) }}
{%- endmacro %}
{% macro default__first_value_by(value_expression, order_expression, tie_breaker=none) -%}
    (array_agg({{ value_expression }} order by {{ order_expression }}{% if tie_breaker %}, {{ tie_breaker }}{% endif %}) filter (where {{ value_expression }} is not null))[1]
{%- endmacro %}
{% macro duckdb__first_value_by(value_expression, order_expression, tie_breaker=none) -%}
    arg_min({{ value_expression }}, {% if tie_breaker %}({{ order_expression }}, {{ tie_breaker }}){% else %}{{ order_expression }}{% endif %}) filter (where {{ value_expression }} is not null)
{%- endmacro %}

{#- The value of the row with the highest order_expression (then tie_breaker), nulls left out. -#}
{% macro last_value_by(value_expression, order_expression, tie_breaker=none) -%}
    {{ return(adapter.dispatch('last_value_by', 'tango')(value_expression, order_expression, tie_breaker)) }}
{%- endmacro %}
{% macro default__last_value_by(value_expression, order_expression, tie_breaker=none) -%}
    (array_agg({{ value_expression }} order by {{ order_expression }} desc{% if tie_breaker %}, {{ tie_breaker }} desc{% endif %}) filter (where {{ value_expression }} is not null))[1]
{%- endmacro %}
{% macro duckdb__last_value_by(value_expression, order_expression, tie_breaker=none) -%}
    arg_max({{ value_expression }}, {% if tie_breaker %}({{ order_expression }}, {{ tie_breaker }}){% else %}{{ order_expression }}{% endif %}) filter (where {{ value_expression }} is not null)
{%- endmacro %}

{#- The first day of the month or week an expression falls in. -#}
{% macro period_start(period, expression) -%}
    {%- if period == 'month' -%}{{ month_start(expression) }}
    {%- elif period == 'week' -%}{{ week_start(expression) }}
    {%- else -%}{{ exceptions.raise_compiler_error("period_start: period must be month or week, not " ~ period) }}
    {%- endif -%}
{%- endmacro %}

{#- The exclusive end of an interval that may be open (null): far in the
    future, so that range joins stay plain inequalities (an `is null or`
    in a join condition turns a hash or range join into a nested loop). -#}
{% macro open_end(date_expression) -%}
    coalesce({{ date_expression }}, cast('9999-12-31' as date))
{%- endmacro %}

{#- A number a JSON object holds under a top-level key, as a double. -#}
{% macro json_number(json_expression, key) -%}
    {{ return(adapter.dispatch('json_number', 'tango')(json_expression, key)) }}
{%- endmacro %}
{% macro default__json_number(json_expression, key) -%}
    cast(json_value({{ json_expression }}, '$.{{ key }}') as double)
{%- endmacro %}
{% macro duckdb__json_number(json_expression, key) -%}
    cast({{ json_expression }} ->> '{{ key }}' as double)
{%- endmacro %}
