{#- Stage flows: customers by their lifecycle stage on one date and on a
    later one, one row per pair of dates and pair of stages, for each pair
    `date_pairs` holds (from_date, to_date, comparison). `stages` holds
    stints as fct_customer_stages does (customer_id, lifecycle_stage,
    valid_from inclusive, valid_to exclusive or null while current). A
    customer not yet known on from_date comes from 'unknown'. A query of its
    own: wrap it in parentheses to read it as a subquery. -#}
{% macro stage_flows(stages, date_pairs) -%}
with

flow_days as (
    select pairs.from_date as flow_date from {{ date_pairs }} as pairs
    union
    select pairs.to_date from {{ date_pairs }} as pairs
),

-- A stint covers a day when it starts on or before it and ends after it.
stage_on_flow_days as (
    select
        flow_days.flow_date,
        stints.customer_id,
        stints.lifecycle_stage
    from flow_days
    inner join {{ stages }} as stints
        on stints.valid_from <= flow_days.flow_date
        and flow_days.flow_date < {{ open_end('stints.valid_to') }}
)

select
    pairs.from_date,
    pairs.to_date,
    pairs.comparison,
    coalesce(from_stages.lifecycle_stage, 'unknown') as from_stage,
    to_stages.lifecycle_stage as to_stage,
    count(*) as customers
from {{ date_pairs }} as pairs
inner join stage_on_flow_days as to_stages
    on pairs.to_date = to_stages.flow_date
left join stage_on_flow_days as from_stages
    on pairs.from_date = from_stages.flow_date
    and to_stages.customer_id = from_stages.customer_id
group by
    pairs.from_date,
    pairs.to_date,
    pairs.comparison,
    coalesce(from_stages.lifecycle_stage, 'unknown'),
    to_stages.lifecycle_stage
{%- endmacro %}

{#- The stage flows between any two dates, as a function of the warehouse
    that any SQL client can call (and `tango flows` does):
        select * from reports.stage_flows_between('2024-02-01', '2024-03-10')
    gives from_stage, to_stage and customers. Created by rpt_stage_flows,
    which counts its month-end pairs another way, from the stints grouped
    by month (test/models/truth.test.ts checks they agree). The dates are
    checked where the function runs: the first before the second, the second
    no later than the reporting day of the last transform (the stages after
    it are not known yet). Engines without table functions get none; the
    report models do not need it. -#}
{% macro create_stage_flows_function(stages, settings) -%}
    {{ return(adapter.dispatch('create_stage_flows_function', 'tango')(stages, settings)) }}
{%- endmacro %}

{% macro default__create_stage_flows_function(stages, settings) -%}
    select 1
{%- endmacro %}

{% macro duckdb__create_stage_flows_function(stages, settings) -%}
{%- set chosen_dates -%}
(
    select
        cast(from_day as date) as from_date,
        case
            when cast(from_day as date) >= cast(to_day as date)
                then error('stage flows: the first date (' || cast(from_day as date) || ') must be before the second (' || cast(to_day as date) || ')')
            when cast(to_day as date) > settings.as_of_date
                then error('stage flows: ' || cast(to_day as date) || ' is after the reporting day of the last transform, ' || settings.as_of_date)
            else cast(to_day as date)
        end as to_date,
        'chosen dates' as comparison
    from {{ settings }} as settings
)
{%- endset -%}
create or replace macro {{ this.schema }}.stage_flows_between(from_day, to_day) as table
select flows.from_stage, flows.to_stage, flows.customers
from ({{ stage_flows(stages, chosen_dates) }}) as flows
{%- endmacro %}
