-- What the buy-till-you-die models need per buyer, as of the reporting day,
-- in var('clv_time_unit_days') units: repeat purchases x (order days after
-- the first; same-day orders are one), recency t_x (first to last order
-- day), age T (first order day to the reporting day) and the mean value of
-- the repeat order days. The clv step fits and scores on it; the horizon and
-- discount rate travel along so that the vars stay the one place they are set.
with

order_days as (
    select * from {{ ref('int_customer_orders_sequenced') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

final as (
    select
        order_days.customer_id,
        count(*) - 1 as repeat_purchases,
        {{ periods_between('day', 'min(order_days.order_date)', 'max(order_days.order_date)') }} / {{ var('clv_time_unit_days') }} as recency,
        {{ periods_between('day', 'min(order_days.order_date)', 'any_value(settings.as_of_date)') }} / {{ var('clv_time_unit_days') }} as age,
        avg(order_days.net_revenue) filter (where order_days.order_number > 1) as mean_repeat_value,
        {{ var('clv_time_unit_days') }} as time_unit_days,
        {{ var('clv_horizon_months') }} as horizon_months,
        {{ var('clv_annual_discount_rate') }} as annual_discount_rate
    from order_days
    cross join settings
    where order_days.order_date <= settings.as_of_date
    group by order_days.customer_id
)

select * from final
