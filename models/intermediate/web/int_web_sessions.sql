-- Web sessions by cookie, before identity: a cookie's events with no gap
-- longer than var('session_inactivity_minutes'). A session takes the UTM and
-- device of its first event that has one.
--
-- Incremental: a build reads only the cookies with events loaded since the
-- last build, and of each only the events from the first stored session
-- such an event can change on: one that ends less than the inactivity limit
-- before the earliest new event, or later (the new event can extend, join
-- or split it and renumber the ones after it). The sessions before it stay
-- as they are, numbers included; the rebuilt ones replace the stored ones
-- from the first rebuilt number on (the replace_from strategy,
-- sql/macros/incremental_strategies.sql), those merged away too.
-- Events are only ever appended, except by a full refresh of the raw stream,
-- which loads every event again: then the earliest load time moves, and the
-- pre-hook empties the table so that this build reads every cookie.

{#- The event columns the sessions are made of, and no others: the two
    window passes below carry every column they are given through their
    sorts (at 200,000 people, all of them cost a fifth more time). -#}
{%- set event_columns = ['anonymous_id', 'event_id', 'event_type', 'occurred_at', 'utm_source', 'utm_medium', 'utm_campaign', 'device', 'loaded_at'] -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        unique_key='anonymous_id',
        replace_from='session_number',
        on_schema_change='fail',
        pre_hook="{{ empty_when_source_reloaded(source('web', 'events'), 'first_loaded_at') }}",
    )
}}

with

{% if is_incremental() %}

-- The earliest event loaded since the last build, per cookie.
new_events as (
    select anonymous_id, min(occurred_at) as earliest_new_at
    from {{ ref('stg_web__events') }}
    where
        anonymous_id is not null
        and {{ loaded_since_last_build('loaded_at', 'last_loaded_at') }}
    group by anonymous_id
),

-- Per such cookie: how many stored sessions stay (those that end more than
-- the inactivity limit before its earliest new event), and the time from
-- which its events are sessionized again (the start of the first other
-- stored session, or the earliest new event if that is earlier).
rebuild_points as (
    select
        new_events.anonymous_id,
        count(stored.session_number) filter (where stored.reaches_until < new_events.earliest_new_at) as kept_sessions,
        least(
            new_events.earliest_new_at,
            coalesce(min(stored.started_at) filter (where stored.reaches_until >= new_events.earliest_new_at), new_events.earliest_new_at)
        ) as rebuild_from
    from new_events
    left join (
        select
            anonymous_id,
            session_number,
            started_at,
            {{ dbt.dateadd('minute', var('session_inactivity_minutes'), 'ended_at') }} as reaches_until
        from {{ this }}
    ) as stored
        on new_events.anonymous_id = stored.anonymous_id
    group by new_events.anonymous_id, new_events.earliest_new_at
),

events as (
    select events.{{ event_columns | join(', events.') }}, rebuild_points.kept_sessions
    from {{ ref('stg_web__events') }} as events
    inner join rebuild_points
        on events.anonymous_id = rebuild_points.anonymous_id
        and events.occurred_at >= rebuild_points.rebuild_from
),

{% else %}

events as (
    select {{ event_columns | join(', ') }}, 0 as kept_sessions
    from {{ ref('stg_web__events') }}
    where anonymous_id is not null
),

{% endif %}

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
        kept_sessions + sum(
            case
                when previous_occurred_at is null
                    or occurred_at > {{ dbt.dateadd('minute', var('session_inactivity_minutes'), 'previous_occurred_at') }}
                then 1 else 0
            end
        ) over (partition by anonymous_id order by occurred_at range between unbounded preceding and current row) as session_number
    from gaps
),

-- The first value is the earliest event's, ties broken by event id, so that
-- every build picks the same one.
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
        {{ first_value_by('utm_source', 'occurred_at', 'event_id') }} as utm_source,
        {{ first_value_by('utm_medium', 'occurred_at', 'event_id') }} as utm_medium,
        {{ first_value_by('utm_campaign', 'occurred_at', 'event_id') }} as utm_campaign,
        {{ first_value_by('device', 'occurred_at', 'event_id') }} as device,
        min(loaded_at) as first_loaded_at,
        max(loaded_at) as last_loaded_at
    from numbered
    group by anonymous_id, session_number
),

final as (
    -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
    select *, '{{ build_id() }}' as build_id from sessions
)

select * from final
