with

source as (
    {{ without_soft_deletes(source('crm', 'contacts')) }}
),

renamed as (
    select
        contact_id,
        -- Emails are matched case- and whitespace-insensitively everywhere; a
        -- placeholder that is no address ('-', 'n/a') is none (sql/macros/normalized_email.sql).
        {{ email_address('email') }} as email,
        nullif(trim(phone), '') as phone,
        first_name,
        last_name,
        nullif(lower(trim(gender)), '') as gender,
        birth_year,
        nullif(trim(age_band), '') as age_band,
        upper(trim(country)) as country_code,
        city,
        coalesce(lower(trim(acquisition_channel)), 'unknown') as acquisition_channel,
        referred_by_contact_id,
        owner,
        coalesce(email_consent, false) as has_email_consent,
        nullif(trim(social_handles), '') as social_handles,
        custom_properties,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
