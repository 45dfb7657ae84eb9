-- Web sessions (int_web_sessions) with the customer their cookie resolves
-- to now (null while the visitor is anonymous) and the channel of their
-- UTM; the shop's own accounts left out.
--
-- Incremental, like int_web_sessions (the replace_from strategy): per
-- cookie, a build writes its sessions again from the first one
-- int_web_sessions rebuilt on (the first with an event loaded since the
-- last build), or all of them when the stored rows no longer match identity
-- or seeds/utm_channels.csv (the cookie resolves to another customer, was
-- left out as internal and no longer is, or a medium maps to another
-- channel); a pre-hook deletes the cookies that turned internal. Finding
-- them reads the stored rows, which costs less than writing them all again.
-- The CTEs that find them read the tables themselves: a CTE read twice would
-- be materialized first.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='anonymous_id',
        replace_from='session_number',
        on_schema_change='fail',
        pre_hook=[
            "{{ empty_when_source_reloaded(source('web', 'events'), 'first_loaded_at') }}",
            "{% if is_incremental() %}delete from {{ this }} where anonymous_id in (select key_value from {{ ref('int_customer_keys_resolved') }} where key_type = 'anonymous_id' and is_internal){% endif %}",
        ],
    )
}}

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

{% if is_incremental() %}

rebuilt_sessions as (
    select anonymous_id, min(session_number) as rewrite_from
    from {{ ref('int_web_sessions') }}
    where {{ loaded_since_last_build('last_loaded_at', 'last_loaded_at') }}
    group by anonymous_id
),

reresolved_cookies as (
    select distinct stored.anonymous_id, 1 as rewrite_from
    from {{ this }} as stored
    left join cookie_keys
        on stored.anonymous_id = cookie_keys.anonymous_id
    left join utm_channels
        on stored.utm_medium = utm_channels.utm_medium
    where
        stored.customer_id is distinct from cookie_keys.customer_id
        or stored.utm_channel is distinct from utm_channels.acquisition_channel
),

-- Cookies with sessions but no stored rows: new, or no longer internal.
unstored_cookies as (
    select anonymous_id, 1 as rewrite_from
    from (
        select anonymous_id from {{ ref('int_web_sessions') }}
        except
        select anonymous_id from {{ this }}
    ) as unstored
),

rewrite_points as (
    select anonymous_id, min(rewrite_from) as rewrite_from
    from (
        select * from rebuilt_sessions
        union all
        select * from reresolved_cookies
        union all
        select * from unstored_cookies
    ) as points
    group by anonymous_id
),

{% endif %}

final as (
    select
        sessions.anonymous_id || '-' || sessions.session_number as web_session_id,
        sessions.anonymous_id,
        sessions.session_number,
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
        sessions.device,
        sessions.first_loaded_at,
        sessions.last_loaded_at,
        -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
        '{{ build_id() }}' as build_id
    from sessions
    {% if is_incremental() -%}
    inner join rewrite_points
        on sessions.anonymous_id = rewrite_points.anonymous_id
        and sessions.session_number >= rewrite_points.rewrite_from
    {%- endif %}
    left join cookie_keys
        on sessions.anonymous_id = cookie_keys.anonymous_id
    left join utm_channels
        on sessions.utm_medium = utm_channels.utm_medium
    where not coalesce(cookie_keys.is_internal, false)
)

select * from final
