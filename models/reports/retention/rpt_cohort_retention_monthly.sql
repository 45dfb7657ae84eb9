-- Customer retention of monthly acquisition cohorts, "on" convention: a
-- customer counts in month N if it has a paid order in exactly that month.
with

customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

paid_orders as (
    select customer_id, ordered_at from orders where is_paid
),

reporting_day as (
    select {{ as_of_date('(select max(cast(ordered_at as date)) from paid_orders)') }} as as_of_date
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_customers
    from customers
    where cohort_month is not null
    group by cohort_month
),

-- Every cohort gets a row for every month up to the reporting month, so a
-- month in which nobody came back shows 0 rather than being missing.
cohort_periods as (
    select
        cohorts.cohort_month,
        cohorts.cohort_customers,
        unnest(range(0, date_diff('month', cohorts.cohort_month, reporting_day.as_of_date) + 1)) as months_since_first_order
    from cohorts
    cross join reporting_day
),

activity as (
    select distinct
        customers.cohort_month,
        paid_orders.customer_id,
        date_diff('month', customers.cohort_month, cast(date_trunc('month', paid_orders.ordered_at) as date)) as months_since_first_order
    from paid_orders
    inner join customers
        on paid_orders.customer_id = customers.customer_id
),

active_counts as (
    select
        cohort_month,
        months_since_first_order,
        count(*) as active_customers
    from activity
    group by cohort_month, months_since_first_order
),

final as (
    select
        cohort_periods.cohort_month,
        cohort_periods.months_since_first_order,
        cast(cohort_periods.cohort_month + to_months(cast(cohort_periods.months_since_first_order as integer)) as date) as period_month,
        cohort_periods.cohort_customers,
        coalesce(active_counts.active_customers, 0) as active_customers,
        coalesce(active_counts.active_customers, 0) / cohort_periods.cohort_customers as retention_pct,
        -- A period is complete once the reporting day reaches its last day.
        last_day(cohort_periods.cohort_month + to_months(cast(cohort_periods.months_since_first_order as integer)))
            <= reporting_day.as_of_date as is_complete_period
    from cohort_periods
    cross join reporting_day
    left join active_counts
        on cohort_periods.cohort_month = active_counts.cohort_month
        and cohort_periods.months_since_first_order = active_counts.months_since_first_order
)

select * from final
