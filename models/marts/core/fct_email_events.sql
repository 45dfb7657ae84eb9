-- Email activity of resolved customers: one row per event (sent, delivered,
-- opened, clicked, bounced, unsubscribed, complained), with its campaign.
--
-- Incremental (delete+insert on email_event_id), like fct_web_sessions: a
-- build writes the events loaded since the last build and every event the
-- table lacks. Pre-hooks first delete the stored events whose row no longer
-- matches (their subscriber or email resolves to another customer, or to
-- one of the shop's own accounts; their campaign's name or type changed:
-- sql/macros/email_events.sql), so those are written again, or left
-- out. A full refresh of the raw events (the earliest load time moves)
-- empties the table first, so events the raw stream no longer has go too.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='email_event_id',
        on_schema_change='fail',
        pre_hook=[
            "{{ empty_when_source_reloaded(source('email', 'events'), 'loaded_at') }}",
            "{{ delete_email_events_of_reresolved_keys() }}",
            "{{ delete_email_events_of_changed_campaigns() }}",
        ],
    )
}}

with

events as (
    select * from {{ ref('stg_email__events') }} as events
    {% if is_incremental() -%}
    where
        {{ loaded_since_last_build('events.loaded_at', 'loaded_at') }}
        or not exists (select 1 from {{ this }} as stored where stored.email_event_id = events.event_id)
    {%- endif %}
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
        {{ email_event_customer_id('subscriber_keys', 'email_keys') }} as customer_id,
        events.subscriber_id,
        events.email,
        events.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_type,
        events.event_type,
        events.event_type in ('opened', 'clicked') as is_engagement,
        events.occurred_at,
        cast(events.occurred_at as date) as occurred_date,
        events.clicked_url,
        events.bounce_type,
        events.loaded_at,
        -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
        '{{ build_id() }}' as build_id
    from events
    left join subscriber_keys
        on events.subscriber_id = subscriber_keys.subscriber_id
    left join email_keys
        on events.email = email_keys.email
    left join campaigns
        on events.campaign_id = campaigns.campaign_id
    where not {{ email_event_is_internal('subscriber_keys', 'email_keys') }}
)

select * from final
