-- The identities each web cookie was seen with: one row per cookie and
-- combination of CRM contact id and email its events named (a sign-up or
-- login, and any later event the tracker tags with the signed-in visitor),
-- with the time of the first such event.
-- int_customer_keys_resolved takes a cookie's first identity and every
-- address the site saw from here, so that no build reads every web event
-- again for them.
--
-- Incremental: raw web events are only ever appended (see
-- int_web_sessions), so a sighting's first time is the earlier of the
-- stored one and that of the events loaded since the last build. A build
-- reads only those events and writes every sighting of the cookies they
-- name (delete+insert by cookie: a contact id or email may be null, and
-- null never matches a key). A full refresh of the raw stream, which loads
-- every event again, moves the earliest load time of the events:
-- the pre-hook then empties the table, and the build reads every event.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='anonymous_id',
        on_schema_change='fail',
        pre_hook="{{ empty_when_source_reloaded(source('web', 'events'), 'events_first_loaded_at') }}",
    )
}}

with

-- Every copy of every event (a repeated copy names the same identities,
-- and only each combination's first time is kept). Every event has a
-- cookie (the raw contract requires one).
identified_events as (
    select anonymous_id, contact_id, email_as_sent, occurred_at, loaded_at
    from {{ ref('stg_web__event_identities') }}
    where
        anonymous_id is not null
        and (contact_id is not null or email_as_sent is not null)
        {%- if is_incremental() %}
        and {{ loaded_since_last_build('loaded_at', 'last_loaded_at') }}
        {%- endif %}
),

-- One group per cookie, contact id and address, not one per identity: where
-- a tracker tags the events after a login (the demo's does), most events
-- name both, and grouping each event once costs half. Grouped by the
-- address as sent first and normalised after: a cookie's events repeat the
-- same few addresses, and normalising the address of every event cost a
-- third of this model.
sent_sightings as (
    select
        anonymous_id,
        contact_id,
        email_as_sent,
        min(occurred_at) as first_seen_at,
        max(loaded_at) as last_loaded_at
    from identified_events
    group by anonymous_id, contact_id, email_as_sent
),

normalised_sightings as (
    select
        anonymous_id,
        contact_id,
        {{ email_address('normalized_email') }} as email,
        first_seen_at,
        last_loaded_at
    from (select *, {{ normalized_email('email_as_sent') }} as normalized_email from sent_sightings) as sent
),

-- An address of spaces alone, or a placeholder, names no one. The test on
-- first_seen_at (never null: every event has a time) keeps this filter
-- above the group: on the address alone DuckDB would push it below, and
-- normalise and check the address of every event (a third of this model).
read_sightings as (
    select * from normalised_sightings
    where contact_id is not null or email is not null or first_seen_at is null
),

-- Addresses that differ only in case or spaces are one sighting. An
-- incremental build adds the stored sightings of the cookies the new events
-- name: a sighting read again keeps the earlier first time.
sightings as (
    select
        anonymous_id,
        contact_id,
        email,
        min(first_seen_at) as first_seen_at,
        max(last_loaded_at) as last_loaded_at
    from (
        select * from read_sightings
        {%- if is_incremental() %}
        union all
        select stored.anonymous_id, stored.contact_id, stored.email, stored.first_seen_at, stored.last_loaded_at
        from {{ this }} as stored
        where stored.anonymous_id in (select anonymous_id from read_sightings)
        {%- endif %}
    ) as read_and_stored
    group by anonymous_id, contact_id, email
),

final as (
    select
        *,
        -- The same on every row until a full refresh of the raw events moves it (see the pre-hook).
        (select min(loaded_at) from {{ ref('stg_web__event_identities') }}) as events_first_loaded_at,
        -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
        '{{ build_id() }}' as build_id
    from sightings
)

select * from final
