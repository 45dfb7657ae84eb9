-- Web sessions: a visitor's (cookie's) events with no gap longer than
-- var('session_inactivity_minutes'). A session takes the UTM of its first
-- event that has one, and the customer its cookie resolves to (null while
-- the visitor is anonymous).
with

events as (
    select * from {{ ref('stg_web__events') }}
    where anonymous_id is not null
),

cookie_keys as (
    select key_value as anonymous_id, customer_id, is_internal
    from {{ ref('int_customer_keys_resolved') }}
    where key_type = 'anonymous_id'
),

utm_channels as (
    select * from {{ ref('utm_channels') }}
),

-- Ordered by time alone (a fixed-width key sorts much faster than time and
-- event id). Events at the same instant are a gap of zero to each other, so
-- at most the first of them starts a session; the range frame gives all of
-- them the same running count, whichever order the sort left them in.
gaps as (
    select
        *,
        lag(occurred_at) over (partition by anonymous_id order by occurred_at) as previous_occurred_at
    from events
),

numbered as (
    select
        *,
        sum(
            case
                when previous_occurred_at is null
                    or occurred_at > {{ dbt.dateadd('minute', var('session_inactivity_minutes'), 'previous_occurred_at') }}
                then 1 else 0
            end
        ) over (partition by anonymous_id order by occurred_at range between unbounded preceding and current row) as session_number
    from gaps
),

sessions as (
    select
        anonymous_id,
        session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'product_view') as product_views,
        bool_or(event_type = 'add_to_cart') as has_add_to_cart,
        bool_or(event_type = 'sign_up') as has_sign_up,
        bool_or(event_type = 'purchase') as has_purchase,
        {{ first_value_by('utm_source', 'occurred_at') }} as utm_source,
        {{ first_value_by('utm_medium', 'occurred_at') }} as utm_medium,
        {{ first_value_by('utm_campaign', 'occurred_at') }} as utm_campaign,
        {{ first_value_by('device', 'occurred_at') }} as device
    from numbered
    group by anonymous_id, session_number
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
