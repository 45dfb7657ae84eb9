-- What precedes lapse: for every buyer, whether it has lapsed at least once
-- by the reporting day, and the share that has, by
-- first-touch channel, referral, paid order days, time to the second order,
-- and email engagement and support tickets in the
-- var('churn_driver_window_days') days from the first order. One row per
-- driver and value.
with

customers as (
    select * from {{ ref('dim_customers') }}
    where acquisition_date is not null
),

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

order_days as (
    select * from {{ ref('int_customer_orders_sequenced') }}
),

email_events as (
    select * from {{ ref('fct_email_events') }}
),

support_tickets as (
    select * from {{ ref('fct_support_tickets') }}
),

lapses as (
    select distinct customer_id from stages where lifecycle_stage = 'lapsed'
),

order_summary as (
    select
        customer_id,
        max(order_number) as paid_order_days,
        min({{ periods_between('day', 'first_order_date', 'order_date') }}) filter (where order_number = 2) as days_to_second_order
    from order_days
    group by customer_id
),

early_engagement as (
    select
        customers.customer_id,
        count(*) as early_responses
    from email_events
    inner join customers
        on email_events.customer_id = customers.customer_id
    where email_events.is_engagement
        and email_events.occurred_date >= customers.acquisition_date
        and email_events.occurred_date < {{ add_periods('day', 'customers.acquisition_date', var('churn_driver_window_days')) }}
    group by customers.customer_id
),

early_support as (
    select
        customers.customer_id,
        count(*) filter (where support_tickets.is_poorly_rated) as poorly_rated_tickets
    from support_tickets
    inner join customers
        on support_tickets.customer_id = customers.customer_id
    where support_tickets.opened_date >= customers.acquisition_date
        and support_tickets.opened_date < {{ add_periods('day', 'customers.acquisition_date', var('churn_driver_window_days')) }}
    group by customers.customer_id
),

profiles as (
    select
        customers.customer_id,
        lapses.customer_id is not null as has_lapsed,
        customers.acquisition_channel,
        case when customers.is_referred then 'referred' else 'not referred' end as referral,
        case
            when order_summary.paid_order_days = 1 then '1'
            when order_summary.paid_order_days = 2 then '2'
            when order_summary.paid_order_days <= 4 then '3-4'
            else '5+'
        end as paid_order_days,
        case
            when order_summary.days_to_second_order is null then 'no second order'
            when order_summary.days_to_second_order <= 30 then '0-30 days'
            when order_summary.days_to_second_order <= 90 then '31-90 days'
            when order_summary.days_to_second_order <= 180 then '91-180 days'
            else 'over 180 days'
        end as time_to_second_order,
        case when early_engagement.early_responses > 0 then 'opened or clicked' else 'no response' end as email_engagement_first_90_days,
        case
            when early_support.customer_id is null then 'no ticket'
            when early_support.poorly_rated_tickets > 0 then 'a ticket rated poorly'
            else 'tickets, none rated poorly'
        end as support_tickets_first_90_days
    from customers
    left join lapses
        on customers.customer_id = lapses.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join early_engagement
        on customers.customer_id = early_engagement.customer_id
    left join early_support
        on customers.customer_id = early_support.customer_id
),

drivers as (
    {%- set drivers = ['acquisition_channel', 'referral', 'paid_order_days', 'time_to_second_order', 'email_engagement_first_90_days', 'support_tickets_first_90_days'] %}
    {%- for driver in drivers %}
    select '{{ driver }}' as driver, {{ driver }} as driver_value, has_lapsed from profiles
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        driver,
        driver_value,
        count(*) as customers,
        count(*) filter (where has_lapsed) as lapsed_customers,
        count(*) filter (where has_lapsed) / count(*) as lapsed_pct
    from drivers
    group by driver, driver_value
)

select * from final
