-- Email activity of resolved customers: one row per event (sent, delivered,
-- opened, clicked, bounced, unsubscribed, complained), with its campaign.
with

events as (
    select * from {{ ref('stg_email__events') }}
),

campaigns as (
    select * from {{ ref('stg_email__campaigns') }}
),

customer_keys as (
    select * from {{ ref('int_customer_keys_resolved') }}
),

subscriber_keys as (
    select key_value as subscriber_id, customer_id, is_internal from customer_keys where key_type = 'subscriber_id'
),

email_keys as (
    select key_value as email, customer_id, is_internal from customer_keys where key_type = 'email'
),

final as (
    select
        events.event_id as email_event_id,
        coalesce(subscriber_keys.customer_id, email_keys.customer_id) as customer_id,
        events.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_type,
        events.event_type,
        events.event_type in ('opened', 'clicked') as is_engagement,
        events.occurred_at,
        cast(events.occurred_at as date) as occurred_date,
        events.clicked_url,
        events.bounce_type
    from events
    left join subscriber_keys
        on events.subscriber_id = subscriber_keys.subscriber_id
    left join email_keys
        on events.email = email_keys.email
    left join campaigns
        on events.campaign_id = campaigns.campaign_id
    where not coalesce(subscriber_keys.is_internal, email_keys.is_internal, false)
)

select * from final
