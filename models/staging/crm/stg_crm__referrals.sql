with

source as (
    {{ without_soft_deletes(source('crm', 'referrals')) }}
),

renamed as (
    select
        referral_id,
        referrer_contact_id,
        {{ email_address('referred_email') }} as referred_email,
        referred_contact_id,
        {{ utc_timestamp('referred_at') }} as referred_at,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
