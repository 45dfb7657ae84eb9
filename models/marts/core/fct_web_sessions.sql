-- Web sessions (int_web_sessions, built incrementally) with the customer
-- their cookie resolves to now (null while the visitor is anonymous) and the
-- channel of their UTM; the shop's own accounts left out. Identity can change
-- what a cookie resolves to, so this join is made again on every build.
with

sessions as (
    select * from {{ ref('int_web_sessions') }}
),

cookie_keys as (
    select key_value as anonymous_id, customer_id, is_internal
    from {{ ref('int_customer_keys_resolved') }}
    where key_type = 'anonymous_id'
),

utm_channels as (
    select * from {{ ref('utm_channels') }}
),

final as (
    select
        sessions.anonymous_id || '-' || sessions.session_number as web_session_id,
        sessions.anonymous_id,
        cookie_keys.customer_id,
        sessions.started_at,
        sessions.ended_at,
        cast(sessions.started_at as date) as started_date,
        sessions.events,
        sessions.page_views,
        sessions.product_views,
        sessions.has_add_to_cart,
        sessions.has_sign_up,
        sessions.has_purchase,
        sessions.utm_source,
        sessions.utm_medium,
        sessions.utm_campaign,
        utm_channels.acquisition_channel as utm_channel,
        sessions.device
    from sessions
    left join cookie_keys
        on sessions.anonymous_id = cookie_keys.anonymous_id
    left join utm_channels
        on sessions.utm_medium = utm_channels.utm_medium
    where not coalesce(cookie_keys.is_internal, false)
)

select * from final
