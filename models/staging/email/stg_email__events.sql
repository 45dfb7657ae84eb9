with

source as (
    select * from {{ source('email', 'events') }}
),

renamed as (
    select
        event_id,
        campaign_id,
        subscriber_id,
        lower(trim(subscriber_email)) as email,
        lower(trim(event_type)) as event_type,
        occurred_at at time zone 'UTC' as occurred_at,
        url as clicked_url,
        lower(bounce_type) as bounce_type,
        _loaded_at as loaded_at
    from source
),

deduplicated as (
    select * from renamed
    qualify row_number() over (partition by event_id order by loaded_at) = 1
),

final as (
    select * from deduplicated
)

select * from final
