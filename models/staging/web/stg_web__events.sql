with

source as (
    select * from {{ source('web', 'events') }}
),

repeated_events as (
    select * from {{ ref('stg_web__repeated_events') }}
),

-- Late or re-sent event files can repeat an event: keep its first load.
deduplicated as (
    {{ without_later_copies('source', 'repeated_events', 'event_id') }}
),

renamed as (
    select
        event_id,
        anonymous_id,
        session_id,
        user_id as contact_id,
        nullif(lower({{ trim_spaces('user_email') }}), '') as email,
        lower(trim(event_type)) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        page_url,
        product_id,
        lower(utm_source) as utm_source,
        lower(utm_medium) as utm_medium,
        utm_campaign,
        lower(device) as device,
        _loaded_at as loaded_at
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
