with

source as (
    {{ without_soft_deletes(source('crm', 'marketing_spend')) }}
),

renamed as (
    select
        spend_month,
        lower(trim(channel)) as channel,
        purpose,
        amount,
        upper(trim(currency)) as currency_code,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
