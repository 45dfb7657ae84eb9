with

source as (
    {{ without_soft_deletes(source('crm', 'contacts')) }}
),

-- Emails are matched case- and whitespace-insensitively everywhere; a
-- placeholder that is no address ('-', 'n/a', 'noemail@...') is none
-- (sql/macros/normalized_email.sql).
addressed as (
    select *, {{ email_address('normalized_email') }} as typed_email
    from (select *, {{ normalized_email('email') }} as normalized_email from source) as normalized
),

-- So is an address more contacts share than
-- var('identity_max_contacts_per_email'), a shop's one address for walk-in
-- customers: as a key it would make one customer of them all, and a list
-- would mail it once for each. Counted with a group on the source, not a
-- window on every column of every contact (which cost five times this view);
-- the address is worked out again here rather than read from `addressed`,
-- which read twice would be materialized first, every column of it.
shared_emails as (
    select email
    from (
        select {{ email_address('normalized_email') }} as email
        from (select {{ normalized_email('email') }} as normalized_email from source) as normalized
    ) as addresses
    group by email
    -- count(email): the group of contacts with none is no address. (A
    -- filter on the address would be pushed below the group, where it
    -- computes the address again from the raw email.)
    having count(email) > {{ var('identity_max_contacts_per_email') }}
),

renamed as (
    select
        contact_id,
        case when typed_email not in (select email from shared_emails) then typed_email end as email,
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
    from addressed
),

final as (
    select * from renamed
)

select * from final
