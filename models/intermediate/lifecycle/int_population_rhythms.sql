-- The population's expected interval after a customer's n-th order day: the
-- median gap to the next order day among customers who made one, for each n
-- below var('lifecycle_min_orders_for_rhythm'). Where nobody came back after
-- n orders, the median of all gaps; where nobody ever came back,
-- var('lifecycle_fallback_rhythm_days').
with

orders as (
    select * from {{ ref('fct_orders') }}
    where is_paid
),

order_days as (
    select distinct customer_id, ordered_date as order_date from orders
),

gaps as (
    select
        row_number() over customer_days - 1 as order_number,
        {{ periods_between('day', 'lag(order_date) over customer_days', 'order_date') }} as days_to_next
    from order_days
    window customer_days as (partition by customer_id order by order_date)
),

observed as (
    select
        order_number,
        {{ median('days_to_next') }} as rhythm_days,
        count(*) as customers_observed
    from gaps
    where order_number >= 1
    group by order_number
),

overall as (
    select {{ median('days_to_next') }} as rhythm_days from gaps where order_number >= 1
),

order_numbers as (
    select {{ integer_series(1, var('lifecycle_min_orders_for_rhythm') - 1) }} as order_number
),

final as (
    select
        order_numbers.order_number,
        coalesce(observed.rhythm_days, overall.rhythm_days, {{ var('lifecycle_fallback_rhythm_days') }}) as rhythm_days,
        coalesce(observed.customers_observed, 0) as customers_observed
    from order_numbers
    cross join overall
    left join observed
        on order_numbers.order_number = observed.order_number
)

select * from final
