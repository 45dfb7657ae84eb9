with

source as (
    {{ without_soft_deletes(source('crm', 'support_tickets')) }}
),

renamed as (
    select
        ticket_id,
        contact_id,
        {{ utc_timestamp('opened_at') }} as opened_at,
        {{ utc_timestamp('solved_at') }} as solved_at,
        lower(trim(status)) as status,
        nullif(lower(trim(topic)), '') as topic,
        satisfaction,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
