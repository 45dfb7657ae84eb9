-- What each source system delivered: a data set without web or email data
-- shows zero rows there, and the report pages say so instead of breaking.
with

contacts as (select * from {{ ref('stg_crm__contacts') }}),
leads as (select * from {{ ref('stg_crm__leads') }}),
orders as (select * from {{ ref('stg_crm__orders') }}),
payments as (select * from {{ ref('stg_crm__payments') }}),
refunds as (select * from {{ ref('stg_crm__refunds') }}),
referrals as (select * from {{ ref('stg_crm__referrals') }}),
web_events as (select * from {{ ref('stg_web__events') }}),
email_campaigns as (select * from {{ ref('stg_email__campaigns') }}),
email_events as (select * from {{ ref('stg_email__events') }}),

coverage as (
    select 'crm' as domain, 'contacts' as entity, count(*) as row_count, min(created_at) as first_at, max(created_at) as last_at from contacts
    union all
    select 'crm', 'leads', count(*), min(created_at), max(created_at) from leads
    union all
    select 'crm', 'orders', count(*), min(ordered_at), max(ordered_at) from orders
    union all
    select 'crm', 'payments', count(*), min(paid_at), max(paid_at) from payments
    union all
    select 'crm', 'refunds', count(*), min(refunded_at), max(refunded_at) from refunds
    union all
    select 'crm', 'referrals', count(*), min(referred_at), max(referred_at) from referrals
    union all
    select 'web', 'events', count(*), min(occurred_at), max(occurred_at) from web_events
    union all
    select 'email', 'campaigns', count(*), min(scheduled_at), max(scheduled_at) from email_campaigns
    union all
    select 'email', 'events', count(*), min(occurred_at), max(occurred_at) from email_events
),

final as (
    select
        domain,
        entity,
        row_count,
        row_count > 0 as has_data,
        first_at,
        last_at
    from coverage
)

select * from final
