-- The identities each web cookie was seen with: one row per cookie and CRM
-- contact id or email its events named (a sign-up or login), with the time
-- of the first such event. int_customer_keys_resolved takes a cookie's
-- first identity and every address the site saw from here, so that no
-- build reads every web event again for them.
--
-- Incremental: staged web events are only ever appended (see
-- int_web_sessions), so a pair's first sighting is the earlier of the stored
-- one and that of the events loaded since the last build. A build reads
-- only those events and writes the pairs they name, each with the earlier
-- of the two times. A full refresh of the raw stream, which loads every
-- event again, moves the earliest load time of the staged events: the
-- pre-hook then empties the table, and the build reads every event.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['anonymous_id', 'identity_type', 'identity_value'],
        on_schema_change='fail',
        pre_hook="{{ empty_when_source_reloaded(source('web', 'events'), 'events_first_loaded_at') }}",
    )
}}

with

-- Every staged event has a cookie (the raw contract requires one).
identified_events as (
    select anonymous_id, contact_id, email, occurred_at, loaded_at
    from {{ ref('stg_web__events') }}
    where
        anonymous_id is not null
        and (contact_id is not null or email is not null)
        {%- if is_incremental() %}
        and {{ loaded_since_last_build('loaded_at', 'last_loaded_at') }}
        {%- endif %}
),

sightings as (
    select anonymous_id, 'contact_id' as identity_type, contact_id as identity_value, occurred_at, loaded_at
    from identified_events
    where contact_id is not null
    union all
    select anonymous_id, 'email' as identity_type, email as identity_value, occurred_at, loaded_at
    from identified_events
    where email is not null
),

read_pairs as (
    select
        anonymous_id,
        identity_type,
        identity_value,
        min(occurred_at) as first_seen_at,
        max(loaded_at) as last_loaded_at
    from sightings
    group by anonymous_id, identity_type, identity_value
),

{% if is_incremental() %}

-- The stored pairs the new events name again keep their first sighting if
-- it is earlier.
pairs as (
    select
        anonymous_id,
        identity_type,
        identity_value,
        min(first_seen_at) as first_seen_at,
        max(last_loaded_at) as last_loaded_at
    from (
        select * from read_pairs
        union all
        select stored.anonymous_id, stored.identity_type, stored.identity_value, stored.first_seen_at, stored.last_loaded_at
        from {{ this }} as stored
        inner join read_pairs
            on stored.anonymous_id = read_pairs.anonymous_id
            and stored.identity_type = read_pairs.identity_type
            and stored.identity_value = read_pairs.identity_value
    )
    group by anonymous_id, identity_type, identity_value
),

{% else %}

pairs as (
    select * from read_pairs
),

{% endif %}

final as (
    select
        *,
        -- The same on every row until a full refresh of the raw events moves it (see the pre-hook).
        (select min(loaded_at) from {{ ref('stg_web__events') }}) as events_first_loaded_at,
        -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
        '{{ build_id() }}' as build_id
    from pairs
)

select * from final
