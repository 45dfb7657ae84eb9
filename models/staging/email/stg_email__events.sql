with

source as (
    select * from {{ source('email', 'events') }}
),

repeated_events as (
    select * from {{ ref('stg_email__repeated_events') }}
),

-- A re-sent export can repeat an event: keep its first load.
deduplicated as (
    {{ without_later_copies('source', 'repeated_events', 'event_id') }}
),

renamed as (
    select
        event_id,
        campaign_id,
        subscriber_id,
        nullif(lower({{ trim_spaces('subscriber_email') }}), '') as email,
        lower(trim(event_type)) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        url as clicked_url,
        lower(bounce_type) as bounce_type,
        _loaded_at as loaded_at
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
