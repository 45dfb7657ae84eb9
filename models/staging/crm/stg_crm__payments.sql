with

source as (
    {{ without_soft_deletes(source('crm', 'payments')) }}
),

renamed as (
    select
        payment_id,
        order_id,
        {{ utc_timestamp('paid_at') }} as paid_at,
        amount,
        upper(trim(currency)) as currency_code,
        lower(trim(method)) as payment_method,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
