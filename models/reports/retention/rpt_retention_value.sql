-- What a rise in retention is worth, on the shop's own data (DOMAIN.md:
-- "a small rise in retention lifts profit a lot", worth checking). The
-- annual retention rate r is the share of the customers who bought in the
-- year before the last one who bought again in the last year (years of 12
-- months ending on the reporting day); m is the net revenue per customer
-- who bought in the last year. With r and m held constant and future years
-- discounted at var('clv_annual_discount_rate') (i), a customer is worth
--   m * r / (1 + i - r)
-- (Gupta & Lehmann 2003, "Customers as assets": the margin multiple
-- r / (1 + i - r), with revenue for margin here: the warehouse has no
-- costs). The current rate and rates var('retention_lift_points') apart,
-- up to twice that above and below it, show how steeply the value moves.
{%- set lift = var('retention_lift_points') %}
{%- if not (lift is number and 0 < lift < 1) %}
    {{ exceptions.raise_compiler_error("var retention_lift_points must be a number between 0 and 1 (0.05: 5 points), not " ~ lift) }}
{%- endif %}

with

orders as (
    select * from {{ ref('fct_orders') }}
    where is_paid
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

years as (
    select
        {{ add_periods('month', 'as_of_date', -24) }} as previous_year_after,
        {{ add_periods('month', 'as_of_date', -12) }} as last_year_after,
        as_of_date
    from settings
),

-- Each customer who bought in either year: whether it bought in each, and
-- its net revenue in the last one.
buyers as (
    select
        orders.customer_id,
        bool_or(orders.ordered_date > years.previous_year_after and orders.ordered_date <= years.last_year_after) as bought_previous_year,
        bool_or(orders.ordered_date > years.last_year_after) as bought_last_year,
        sum(orders.net_revenue) filter (where orders.ordered_date > years.last_year_after) as last_year_revenue
    from orders
    cross join years
    where orders.ordered_date > years.previous_year_after
        and orders.ordered_date <= years.as_of_date
    group by orders.customer_id
),

observed as (
    select
        count(*) filter (where bought_previous_year) as previous_year_customers,
        count(*) filter (where bought_previous_year and bought_last_year) as retained_customers,
        count(*) filter (where bought_last_year) as last_year_customers,
        coalesce(sum(last_year_revenue), 0) as last_year_revenue
    from buyers
),

rates as (
    select
        observed.*,
        retained_customers / nullif(previous_year_customers, 0) as current_retention_pct,
        last_year_revenue / nullif(last_year_customers, 0) as revenue_per_customer
    from observed
),

scenarios as (
    select
        rates.*,
        steps.step,
        -- In points of retention (0.05 = 5 points).
        steps.step * {{ lift }} as retention_change,
        -- To the millionth: a sum like 0.6 - 0.05 is not exactly 0.55 in floating point.
        round(rates.current_retention_pct + steps.step * {{ lift }}, 6) as annual_retention_pct
    from rates
    cross join (values (-2), (-1), (0), (1), (2)) as steps (step)
),

valued as (
    select
        *,
        annual_retention_pct / nullif(1 + {{ var('clv_annual_discount_rate') }} - annual_retention_pct, 0) as value_multiple
    from scenarios
    -- A rate is a share: rates a step would push out of 0..1 are left out.
    where annual_retention_pct >= 0 and annual_retention_pct <= 1
),

final as (
    select
        retention_change,
        step = 0 as is_current,
        annual_retention_pct,
        round(value_multiple, 6) as value_multiple,
        round(revenue_per_customer * value_multiple, 2) as customer_value,
        round(value_multiple / nullif(max(value_multiple) filter (where step = 0) over (), 0) - 1, 6) as value_change_pct,
        previous_year_customers,
        retained_customers,
        last_year_customers,
        round(revenue_per_customer, 2) as revenue_per_customer,
        {{ var('clv_annual_discount_rate') }} as discount_rate_pct
    from valued
)

select * from final
