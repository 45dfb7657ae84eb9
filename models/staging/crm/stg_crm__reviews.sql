with

source as (
    {{ without_soft_deletes(source('crm', 'reviews')) }}
),

renamed as (
    select
        review_id,
        contact_id,
        rating,
        {{ utc_timestamp('reviewed_at') }} as reviewed_at,
        product_id,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
