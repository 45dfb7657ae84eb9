-- Incremental, like stg_web__events and for the same reason: a build
-- handles only the events loaded since the last one.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
        pre_hook="{{ empty_when_source_reloaded(source('email', 'events'), 'loaded_at') }}",
    )
}}

with

-- A re-sent export can repeat an event: keep its first load.
deduplicated as (
    {{ current_first_copies(source('email', 'events'), 'event_id') }}
),

renamed as (
    select
        event_id,
        campaign_id,
        subscriber_id,
        {{ normalized_email('subscriber_email') }} as email,
        lower(trim(event_type)) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        url as clicked_url,
        lower(bounce_type) as bounce_type,
        _loaded_at as loaded_at
    from deduplicated
),

final as (
    -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
    select *, '{{ build_id() }}' as build_id from renamed
)

select * from final
