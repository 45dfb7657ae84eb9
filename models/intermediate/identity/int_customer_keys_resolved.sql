-- Identity resolution: every key a source knows a person by (CRM contact id,
-- email, email-service subscriber id, web cookie) mapped to one customer_id.
-- Rules, in order: contacts that share a normalised email are one person,
-- named by its earliest contact; an id that only orders name is its own
-- customer; an address no contact has is the person of the subscriber that
-- used it first, else a customer of its own ("email:<address>"); a
-- subscriber is the person of the first of its addresses a contact has,
-- else that of its first address (so one that changed its address at the
-- email service stays one person); a web cookie is the person of the first
-- identified event (login or sign-up) seen on it (int_web_cookie_identities;
-- of two at one instant, the lower contact id or address).
with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

web_identities as (
    select * from {{ ref('int_web_cookie_identities') }}
),

contact_customers as (
    select
        contact_id,
        email,
        case
            when email is null then contact_id
            else first_value(contact_id) over (partition by email order by created_at nulls last, contact_id)
        end as customer_id
    from contacts
),

order_only_customers as (
    select distinct
        orders.contact_id,
        orders.contact_id as customer_id
    from orders
    left join contact_customers
        on orders.contact_id = contact_customers.contact_id
    where contact_customers.contact_id is null
),

contact_keys as (
    select contact_id, customer_id from contact_customers
    union all
    select contact_id, customer_id from order_only_customers
),

-- The email events are read where they are used, not as a CTE: a CTE read
-- twice would be materialized first (tens of millions of events at scale).
known_emails as (
    select email from contacts where email is not null
    union
    select email from {{ ref('stg_email__events') }} where email is not null
    union
    select email from web_identities where email is not null
),

contact_emails as (
    select distinct email, customer_id
    from contact_customers
    where email is not null
),

-- Every address each subscriber used, from when (a subscriber can change
-- its address at the email service).
subscriber_emails as (
    select
        subscriber_id,
        email,
        min(occurred_at) as first_used_at
    from {{ ref('stg_email__events') }}
    where subscriber_id is not null and email is not null
    group by subscriber_id, email
),

-- Per subscriber: the customer of the first of its addresses a contact
-- has, and its first address.
subscriber_addresses as (
    select
        subscriber_emails.subscriber_id,
        {{ first_value_by('contact_emails.customer_id', 'subscriber_emails.first_used_at', 'subscriber_emails.email') }} as contact_customer_id,
        {{ first_value_by('subscriber_emails.email', 'subscriber_emails.first_used_at', 'subscriber_emails.email') }} as first_email
    from subscriber_emails
    left join contact_emails
        on subscriber_emails.email = contact_emails.email
    group by subscriber_emails.subscriber_id
),

-- The subscriber that used each address first.
email_first_subscribers as (
    select
        email,
        {{ first_value_by('subscriber_id', 'first_used_at', 'subscriber_id') }} as subscriber_id
    from subscriber_emails
    group by email
),

-- An address is the person of the contact that has it; else, if a
-- subscriber used it, that of the subscriber that used it first (its
-- contact's, or its first address); else a customer of its own.
email_keys as (
    select
        known_emails.email,
        coalesce(
            contact_emails.customer_id,
            subscriber_addresses.contact_customer_id,
            'email:' || subscriber_addresses.first_email,
            'email:' || known_emails.email
        ) as customer_id
    from known_emails
    left join contact_emails
        on known_emails.email = contact_emails.email
    left join email_first_subscribers
        on known_emails.email = email_first_subscribers.email
    left join subscriber_addresses
        on email_first_subscribers.subscriber_id = subscriber_addresses.subscriber_id
),

-- A subscriber is the person of the first of its addresses a contact has,
-- else that of its first address.
subscriber_keys as (
    select
        subscriber_addresses.subscriber_id,
        coalesce(subscriber_addresses.contact_customer_id, email_keys.customer_id) as customer_id
    from subscriber_addresses
    inner join email_keys
        on subscriber_addresses.first_email = email_keys.email
),

cookie_first_identities as (
    select
        anonymous_id,
        {{ first_value_by('contact_id', 'first_seen_at', 'contact_id') }} as contact_id,
        {{ first_value_by('email', 'first_seen_at', 'email') }} as email
    from web_identities
    group by anonymous_id
),

cookie_keys as (
    select
        cookie_first_identities.anonymous_id,
        coalesce(contact_keys.customer_id, email_keys.customer_id) as customer_id
    from cookie_first_identities
    left join contact_keys
        on cookie_first_identities.contact_id = contact_keys.contact_id
    left join email_keys
        on cookie_first_identities.email = email_keys.email
    where coalesce(contact_keys.customer_id, email_keys.customer_id) is not null
),

all_keys as (
    select 'contact_id' as key_type, contact_id as key_value, customer_id from contact_keys
    union all
    select 'email' as key_type, email as key_value, customer_id from email_keys
    union all
    select 'subscriber_id' as key_type, subscriber_id as key_value, customer_id from subscriber_keys
    union all
    select 'anonymous_id' as key_type, anonymous_id as key_value, customer_id from cookie_keys
),

-- The shop's own accounts (var internal_email_patterns): any of the person's emails matches.
internal_customers as (
    select distinct customer_id
    from email_keys
    where {{ like_any('email', var('internal_email_patterns')) }}
),

final as (
    select
        all_keys.key_type,
        all_keys.key_value,
        all_keys.customer_id,
        internal_customers.customer_id is not null as is_internal
    from all_keys
    left join internal_customers
        on all_keys.customer_id = internal_customers.customer_id
)

select * from final
