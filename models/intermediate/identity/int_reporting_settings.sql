-- The reporting day and currency every model shares: var('as_of_date') or
-- the last paid order's day; var('reporting_currency') or the currency most
-- paid orders are in.
--
-- A shop with no paid order yet (web and email data loaded first, or a CRM
-- with leads only) still gets both, so that its prospects and leads are
-- modelled: the reporting day is then the last day anything was recorded
-- (an order of any status, a contact or lead created, an email or web
-- event), and the currency that of most marketing spend, else USD (a label
-- only: there is no money to convert).
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

email_events as (
    select * from {{ ref('stg_email__events') }}
),

web_events as (
    select * from {{ ref('stg_web__events') }}
),

marketing_spend as (
    select * from {{ ref('stg_crm__marketing_spend') }}
),

paid_orders as (
    select ordered_at, currency_code from orders where order_status = 'paid'
),

last_recorded_days as (
    select max(cast(ordered_at as date)) as recorded_date from orders
    union all
    select max(cast(created_at as date)) from contacts
    union all
    select max(cast(created_at as date)) from leads
    union all
    select max(cast(occurred_at as date)) from email_events
    union all
    select max(cast(occurred_at as date)) from web_events
),

currency_counts as (
    select currency_code, 1 as preference, count(*) as uses
    from paid_orders
    where currency_code is not null
    group by currency_code
    union all
    select currency_code, 2 as preference, count(*) as uses
    from marketing_spend
    where currency_code is not null
    group by currency_code
),

most_used_currency as (
    select currency_code
    from currency_counts
    order by preference, uses desc, currency_code
    limit 1
),

final as (
    select
        {{ as_of_date('coalesce((select max(cast(ordered_at as date)) from paid_orders), (select max(recorded_date) from last_recorded_days))') }} as as_of_date,
        {% if var('reporting_currency') -%}
        '{{ var("reporting_currency") }}'
        {%- else -%}
        coalesce((select currency_code from most_used_currency), 'USD')
        {%- endif %} as reporting_currency
)

select * from final
