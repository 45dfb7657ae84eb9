with

source as (
    {{ without_soft_deletes(source('crm', 'refunds')) }}
),

renamed as (
    select
        refund_id,
        order_id,
        contact_id,
        {{ utc_timestamp('refunded_at') }} as refunded_at,
        amount,
        upper(trim(currency)) as currency_code,
        reason,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
