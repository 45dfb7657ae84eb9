with

source as (
    {{ without_soft_deletes(source('crm', 'referrals')) }}
),

normalized as (
    select *, {{ normalized_email('referred_email') }} as normalized_referred_email
    from source
),

renamed as (
    select
        referral_id,
        referrer_contact_id,
        {{ email_address('normalized_referred_email') }} as referred_email,
        referred_contact_id,
        {{ utc_timestamp('referred_at') }} as referred_at,
        _loaded_at as loaded_at
    from normalized
),

final as (
    select * from renamed
)

select * from final
