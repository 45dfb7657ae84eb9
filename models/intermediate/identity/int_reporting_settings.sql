-- The reporting day and currency every model shares: var('as_of_date') or
-- the last paid order's day; var('reporting_currency') or the currency most
-- orders are in.
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

paid_orders as (
    select ordered_at, currency_code from orders where order_status = 'paid'
),

currency_counts as (
    select
        currency_code,
        count(*) as paid_orders
    from paid_orders
    where currency_code is not null
    group by currency_code
),

most_used_currency as (
    select currency_code
    from currency_counts
    order by paid_orders desc, currency_code
    limit 1
),

final as (
    select
        {{ as_of_date('(select max(cast(ordered_at as date)) from paid_orders)') }} as as_of_date,
        {% if var('reporting_currency') -%}
        '{{ var("reporting_currency") }}'
        {%- else -%}
        (select currency_code from most_used_currency)
        {%- endif %} as reporting_currency
)

select * from final
