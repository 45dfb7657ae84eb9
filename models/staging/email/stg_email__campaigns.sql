with

source as (
    select * from {{ source('email', 'campaigns') }}
),

renamed as (
    select
        campaign_id,
        name as campaign_name,
        lower(trim(campaign_type)) as campaign_type,
        subject,
        {{ utc_timestamp('scheduled_at') }} as scheduled_at,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
