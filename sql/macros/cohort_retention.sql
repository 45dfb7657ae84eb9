{#- A cohort retention table: customers grouped by the period (month or
    week) of their first paid order, and optionally by a customer column
    (breakdown), with, for every period since, the customers active in
    exactly that period ("on"), in that period or a later one ("on or
    after"), the revenue, revenue retention against period 0, the cumulative
    revenue per cohort customer (historical LTV) and whether the period is
    complete on the reporting day. Every cohort gets a row for every period
    up to the reporting day, so a period nobody came back in shows 0. -#}
{% macro cohort_retention(period, breakdowns=[]) %}
{%- set cohort = 'cohort_' ~ period -%}
{%- set offset = period ~ 's_since_first_order' -%}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

cohort_members as (
    {%- if breakdowns %}
    {%- for breakdown in breakdowns %}
    select customer_id, {{ cohort }}, '{{ breakdown }}' as breakdown, cast({{ breakdown }} as varchar) as breakdown_value
    from customers
    where {{ cohort }} is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- else %}
    select customer_id, {{ cohort }}, 'all' as breakdown, 'all' as breakdown_value
    from customers
    where {{ cohort }} is not null
    {%- endif %}
),

cohorts as (
    select
        breakdown,
        breakdown_value,
        {{ cohort }},
        count(*) as cohort_customers
    from cohort_members
    group by breakdown, breakdown_value, {{ cohort }}
),

cohort_periods as (
    select
        cohorts.*,
        {{ integer_series(0, periods_between(period, 'cohorts.' ~ cohort, period_start(period, 'settings.as_of_date'))) }} as {{ offset }}
    from cohorts
    cross join settings
),

-- Each customer's activity per period, computed once: a breakdown repeats
-- every customer once per breakdown column, and its orders are many times
-- its periods.
activity_per_customer_period as (
    select
        orders.customer_id,
        {{ periods_between(period, 'customers.' ~ cohort, period_start(period, 'orders.ordered_at')) }} as {{ offset }},
        bool_or(orders.is_paid) as is_active,
        sum(orders.net_revenue) as net_revenue
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    where customers.{{ cohort }} is not null
    group by orders.customer_id, {{ offset }}
),

customer_periods as (
    select
        cohort_members.breakdown,
        cohort_members.breakdown_value,
        cohort_members.{{ cohort }},
        activity_per_customer_period.*
    from activity_per_customer_period
    inner join cohort_members
        on activity_per_customer_period.customer_id = cohort_members.customer_id
),

period_activity as (
    select
        breakdown,
        breakdown_value,
        {{ cohort }},
        {{ offset }},
        count(*) filter (where is_active) as active_customers,
        coalesce(sum(net_revenue), 0) as net_revenue
    from customer_periods
    group by breakdown, breakdown_value, {{ cohort }}, {{ offset }}
),

last_active_periods as (
    select
        customer_id,
        max({{ offset }}) as last_active_period
    from activity_per_customer_period
    where is_active
    group by customer_id
),

last_active_counts as (
    select
        cohort_members.breakdown,
        cohort_members.breakdown_value,
        cohort_members.{{ cohort }},
        last_active_periods.last_active_period,
        count(*) as customers
    from last_active_periods
    inner join cohort_members
        on last_active_periods.customer_id = cohort_members.customer_id
    group by cohort_members.breakdown, cohort_members.breakdown_value, cohort_members.{{ cohort }}, last_active_periods.last_active_period
),

joined as (
    select
        cohort_periods.breakdown,
        cohort_periods.breakdown_value,
        cohort_periods.{{ cohort }},
        cohort_periods.{{ offset }},
        {{ add_periods(period, 'cohort_periods.' ~ cohort, 'cohort_periods.' ~ offset) }} as period_start,
        cohort_periods.cohort_customers,
        coalesce(period_activity.active_customers, 0) as active_customers,
        coalesce(period_activity.net_revenue, 0) as net_revenue,
        {{ period_complete_by_reporting_day(period, 'cohort_periods.' ~ cohort, 'cohort_periods.' ~ offset ~ ' + 1') }} as is_complete_period
    from cohort_periods
    cross join settings
    left join period_activity
        on cohort_periods.breakdown = period_activity.breakdown
        and cohort_periods.breakdown_value is not distinct from period_activity.breakdown_value
        and cohort_periods.{{ cohort }} = period_activity.{{ cohort }}
        and cohort_periods.{{ offset }} = period_activity.{{ offset }}
),

final as (
    select
        joined.*,
        (
            select coalesce(sum(last_active_counts.customers), 0)
            from last_active_counts
            where last_active_counts.breakdown = joined.breakdown
                and last_active_counts.breakdown_value is not distinct from joined.breakdown_value
                and last_active_counts.{{ cohort }} = joined.{{ cohort }}
                and last_active_counts.last_active_period >= joined.{{ offset }}
        ) as active_on_or_after_customers
    from joined
)

select
    *,
    active_customers / cohort_customers as retention_pct,
    active_on_or_after_customers / cohort_customers as retention_on_or_after_pct,
    net_revenue / nullif(first_value(net_revenue) over cohort_rows, 0) as revenue_retention_pct,
    sum(net_revenue) over (cohort_rows rows unbounded preceding) as cumulative_revenue,
    sum(net_revenue) over (cohort_rows rows unbounded preceding) / cohort_customers as cumulative_revenue_per_customer
from final
window cohort_rows as (partition by breakdown, breakdown_value, {{ cohort }} order by {{ offset }})
{% endmacro %}
