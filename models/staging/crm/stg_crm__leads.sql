with

source as (
    {{ without_soft_deletes(source('crm', 'leads')) }}
),

renamed as (
    select
        lead_id,
        contact_id,
        lower(trim(lead_type)) as lead_type,
        lower(trim(status)) as lead_status,
        amount as expected_amount,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('closed_at') }} as closed_at,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
