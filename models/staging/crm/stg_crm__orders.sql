with

source as (
    {{ without_soft_deletes(source('crm', 'orders')) }}
),

renamed as (
    select
        order_id,
        contact_id,
        {{ utc_timestamp('ordered_at') }} as ordered_at,
        lower(trim(status)) as order_status,
        amount as gross_amount,
        coalesce(discount, 0) as discount_amount,
        upper(trim(currency)) as currency_code,
        item_count,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
