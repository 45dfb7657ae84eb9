-- One row per resolved customer (the shop's own accounts left out): who they
-- are, how and when they came, and their paid orders. Contact fields come
-- from the customer's first contact.
with

customer_keys as (
    select * from {{ ref('int_customer_keys_resolved') }}
    where not is_internal
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

referrals as (
    select * from {{ ref('stg_crm__referrals') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

web_sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

email_events as (
    select * from {{ ref('fct_email_events') }}
),

support_tickets as (
    select * from {{ ref('fct_support_tickets') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

-- One row per age each band holds (ages are whole years): the customers
-- then join their band on the age, not on a range, which would sort them.
age_bands as (
    select age_band, {{ integer_series('min_age', 'max_age') }} as age
    from {{ ref('age_bands') }}
),

customers as (
    select distinct customer_id from customer_keys
),

contact_keys as (
    select key_value as contact_id, customer_id from customer_keys where key_type = 'contact_id'
),

customer_contacts as (
    select
        contact_keys.customer_id,
        contacts.*
    from contacts
    inner join contact_keys
        on contacts.contact_id = contact_keys.contact_id
),

primary_contacts as (
    select * from customer_contacts where contact_id = customer_id
),

contact_summary as (
    select
        customer_id,
        min(created_at) as first_contact_created_at,
        {{ first_value_by('referred_by_contact_id', 'created_at') }} as referred_by_contact_id,
        count(*) as contacts
    from customer_contacts
    group by customer_id
),

referred_contacts as (
    select
        contact_keys.customer_id,
        {{ first_value_by('referrals.referrer_contact_id', 'referrals.referred_at') }} as referrer_contact_id
    from referrals
    inner join contact_keys
        on referrals.referred_contact_id = contact_keys.contact_id
    group by contact_keys.customer_id
),

email_only as (
    select customer_id, min(key_value) as email
    from customer_keys
    where key_type = 'email'
    group by customer_id
),

order_summary as (
    select
        customer_id,
        min(ordered_at) filter (where is_paid) as first_paid_order_at,
        max(ordered_at) filter (where is_paid) as last_paid_order_at,
        count(*) filter (where is_paid) as paid_orders,
        min(ordered_at) as first_order_at,
        coalesce(sum(net_revenue), 0) as net_revenue
    from orders
    group by customer_id
),

session_summary as (
    select
        customer_id,
        min(started_at) as first_session_at,
        {{ first_value_by('utm_channel', 'started_at') }} as first_utm_channel,
        {{ first_value_by('utm_source', 'started_at') }} as first_utm_source,
        {{ first_value_by('utm_campaign', 'started_at') }} as first_utm_campaign
    from web_sessions
    where customer_id is not null
    group by customer_id
),

email_summary as (
    select
        customer_id,
        min(occurred_at) as first_email_at
    from email_events
    where customer_id is not null
    group by customer_id
),

-- Why the email service will not (or must not) take mail for the customer:
-- the latest opt-out (var('email_opt_out_events')), from any of its
-- addresses, or a bounce of a type in var('email_undeliverable_bounce_types')
-- (compared with the list address below, since a bounce is the address's).
email_suppressions as (
    select
        customer_id,
        email,
        is_opt_out,
        case
            when event_type = 'bounced' then event_type || ' (' || bounce_type || ')'
            else event_type
        end as reason,
        occurred_at
    from (
        select
            *,
            event_type in ('{{ var("email_opt_out_events") | join("', '") }}') as is_opt_out,
            event_type = 'bounced'
                and bounce_type in ('{{ var("email_undeliverable_bounce_types") | join("', '") }}') as is_undeliverable
        from email_events
        where customer_id is not null
    ) as flagged
    where is_opt_out or is_undeliverable
),

support_summary as (
    select
        customer_id,
        count(*) as support_tickets,
        count(*) filter (where not is_solved) as open_support_tickets
    from support_tickets
    group by customer_id
),

-- The address a list gives for each customer: its first contact's, else the
-- address it is known by.
customer_emails as (
    select
        customers.customer_id,
        coalesce(primary_contacts.email, email_only.email) as email
    from customers
    left join primary_contacts
        on customers.customer_id = primary_contacts.customer_id
    left join email_only
        on customers.customer_id = email_only.customer_id
),

customer_suppressions as (
    select
        email_suppressions.customer_id,
        {{ last_value_by('email_suppressions.reason', 'email_suppressions.occurred_at', 'email_suppressions.reason') }} as email_suppressed_reason
    from email_suppressions
    inner join customer_emails
        on email_suppressions.customer_id = customer_emails.customer_id
    where email_suppressions.is_opt_out or email_suppressions.email = customer_emails.email
    group by email_suppressions.customer_id
),

final as (
    select
        customers.customer_id,
        customer_emails.email,
        primary_contacts.phone,
        primary_contacts.first_name,
        primary_contacts.last_name,
        primary_contacts.gender,
        primary_contacts.birth_year,
        -- The band of the age on the reporting day (seeds/age_bands.csv), else the CRM's own band.
        coalesce(age_bands.age_band, primary_contacts.age_band) as age_band,
        primary_contacts.country_code,
        primary_contacts.city,
        primary_contacts.social_handles,
        primary_contacts.custom_properties,
        coalesce(primary_contacts.has_email_consent, false) as has_email_consent,
        customer_suppressions.email_suppressed_reason,
        -- The one rule for every list and export.
        customer_emails.email is not null
            and coalesce(primary_contacts.has_email_consent, false)
            and customer_suppressions.email_suppressed_reason is null as is_emailable,
        coalesce(contact_summary.contacts, 0) as contacts,
        -- First touch: the UTM of the first web session where it maps to a
        -- channel (seeds/utm_channels.csv), else what the CRM recorded.
        coalesce(session_summary.first_utm_channel, nullif(primary_contacts.acquisition_channel, 'unknown'), 'unknown') as acquisition_channel,
        session_summary.first_utm_source,
        session_summary.first_utm_campaign,
        referrer_keys.customer_id as referred_by_customer_id,
        referrer_keys.customer_id is not null as is_referred,
        least(
            contact_summary.first_contact_created_at,
            session_summary.first_session_at,
            email_summary.first_email_at,
            order_summary.first_order_at
        ) as first_seen_at,
        order_summary.first_paid_order_at,
        order_summary.last_paid_order_at,
        cast(order_summary.first_paid_order_at as date) as acquisition_date,
        {{ month_start('order_summary.first_paid_order_at') }} as cohort_month,
        {{ week_start('order_summary.first_paid_order_at') }} as cohort_week,
        coalesce(order_summary.paid_orders, 0) as paid_orders,
        coalesce(order_summary.net_revenue, 0) as net_revenue,
        coalesce(support_summary.support_tickets, 0) as support_tickets,
        coalesce(support_summary.open_support_tickets, 0) as open_support_tickets
    from customers
    left join primary_contacts
        on customers.customer_id = primary_contacts.customer_id
    left join contact_summary
        on customers.customer_id = contact_summary.customer_id
    left join referred_contacts
        on customers.customer_id = referred_contacts.customer_id
    left join contact_keys as referrer_keys
        on coalesce(contact_summary.referred_by_contact_id, referred_contacts.referrer_contact_id) = referrer_keys.contact_id
    left join customer_emails
        on customers.customer_id = customer_emails.customer_id
    left join customer_suppressions
        on customers.customer_id = customer_suppressions.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join session_summary
        on customers.customer_id = session_summary.customer_id
    left join email_summary
        on customers.customer_id = email_summary.customer_id
    left join support_summary
        on customers.customer_id = support_summary.customer_id
    cross join settings
    left join age_bands
        on extract(year from settings.as_of_date) - primary_contacts.birth_year = age_bands.age
)

select * from final
