-- One row per customer per day with a paid order (same-day orders are one
-- purchase occasion), numbered, with the gap to the previous one and the
-- interval the customer is expected to buy again in: its own median gap once
-- it has var('lifecycle_min_orders_for_rhythm') order days, else the
-- population's median gap after that many orders (int_population_rhythms).
with

orders as (
    select * from {{ ref('fct_orders') }}
    where is_paid
),

population_rhythms as (
    select * from {{ ref('int_population_rhythms') }}
),

order_days as (
    select
        customer_id,
        ordered_date as order_date,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, ordered_date
),

sequenced as (
    select
        *,
        row_number() over customer_days as order_number,
        {{ periods_between('day', 'lag(order_date) over customer_days', 'order_date') }} as days_since_previous,
        lead(order_date) over customer_days as next_order_date,
        min(order_date) over (partition by customer_id) as first_order_date
    from order_days
    window customer_days as (partition by customer_id order by order_date)
),

with_personal_rhythm as (
    select
        *,
        {{ median('days_since_previous') }} over (
            partition by customer_id order by order_date rows between unbounded preceding and current row
        ) as personal_rhythm_days
    from sequenced
),

final as (
    select
        with_personal_rhythm.*,
        with_personal_rhythm.order_number >= {{ var('lifecycle_min_orders_for_rhythm') }} as has_personal_rhythm,
        case
            when with_personal_rhythm.order_number >= {{ var('lifecycle_min_orders_for_rhythm') }}
                then with_personal_rhythm.personal_rhythm_days
            else population_rhythms.rhythm_days
        end as expected_interval_days
    from with_personal_rhythm
    left join population_rhythms
        on least(with_personal_rhythm.order_number, {{ var('lifecycle_min_orders_for_rhythm') }} - 1) = population_rhythms.order_number
)

select * from final
