-- Identity resolution is not built yet: a customer is a CRM contact, and
-- customer_id is its contact_id.
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

payments as (
    select * from {{ ref('stg_crm__payments') }}
),

payments_per_order as (
    select
        order_id,
        sum(amount) as paid_amount
    from payments
    group by order_id
),

final as (
    select
        orders.order_id,
        orders.contact_id as customer_id,
        orders.ordered_at,
        cast(orders.ordered_at as date) as ordered_date,
        orders.order_status,
        orders.order_status = 'paid' as is_paid,
        -- Net of discount; where the source has no order amount (payments
        -- carry it), what was paid.
        coalesce(orders.gross_amount - orders.discount_amount, payments_per_order.paid_amount) as order_amount,
        orders.currency_code
    from orders
    left join payments_per_order
        on orders.order_id = payments_per_order.order_id
)

select * from final
