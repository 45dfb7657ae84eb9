-- Identity resolution is not built yet: a customer is a CRM contact, and
-- customer_id is its contact_id.
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

final as (
    select
        order_id,
        contact_id as customer_id,
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        order_status,
        order_status = 'paid' as is_paid,
        amount as order_amount,
        currency_code
    from orders
)

select * from final
