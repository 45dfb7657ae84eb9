-- Incremental (unlike the other staging models, views): every model and
-- test that reads web events would otherwise deduplicate and clean tens of
-- millions of them again; a build handles only the events loaded since the
-- last one (sql/macros/repeated_events.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
        pre_hook="{{ empty_when_source_reloaded(source('web', 'events'), 'loaded_at') }}",
    )
}}

with

-- Late or re-sent event files can repeat an event: keep its first load.
deduplicated as (
    {{ current_first_copies(source('web', 'events'), 'event_id') }}
),

-- The columns the models read, and no others: writing tens of millions of
-- events is most of this model's time, and each string column adds to it
-- (the tracker's session_id, page_url and product_id, which no model reads,
-- were a fifth of it; they stay in raw_web.events). The contact id and
-- email an event names are read from stg_web__event_identities instead.
renamed as (
    select
        event_id,
        anonymous_id,
        lower(trim(event_type)) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        lower(utm_source) as utm_source,
        lower(utm_medium) as utm_medium,
        utm_campaign,
        lower(device) as device,
        _loaded_at as loaded_at
    from deduplicated
),

final as (
    -- The build that wrote the row, for the data tests (sql/macros/build_id.sql).
    select *, '{{ build_id() }}' as build_id from renamed
)

select * from final
