-- Identity resolution is not built yet: a customer is a CRM contact, or an
-- id that only orders name (a source with orders and no contacts).
with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

customer_ids as (
    select contact_id as customer_id from contacts
    union
    select customer_id from orders
),

paid_order_summary as (
    select
        customer_id,
        min(ordered_at) as first_paid_order_at,
        max(ordered_at) as last_paid_order_at,
        count(*) as paid_orders,
        sum(order_amount) as paid_revenue
    from orders
    where is_paid
    group by customer_id
),

final as (
    select
        customer_ids.customer_id,
        contacts.email,
        contacts.country_code,
        coalesce(contacts.acquisition_channel, 'unknown') as acquisition_channel,
        contacts.referred_by_contact_id as referred_by_customer_id,
        coalesce(contacts.created_at, paid_order_summary.first_paid_order_at) as created_at,
        paid_order_summary.first_paid_order_at,
        paid_order_summary.last_paid_order_at,
        cast(date_trunc('month', paid_order_summary.first_paid_order_at) as date) as cohort_month,
        coalesce(paid_order_summary.paid_orders, 0) as paid_orders,
        coalesce(paid_order_summary.paid_revenue, 0) as paid_revenue
    from customer_ids
    left join contacts
        on customer_ids.customer_id = contacts.contact_id
    left join paid_order_summary
        on customer_ids.customer_id = paid_order_summary.customer_id
)

select * from final
