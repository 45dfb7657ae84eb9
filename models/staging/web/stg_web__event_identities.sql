-- Who each web event names, for identity resolution: its cookie, CRM
-- contact id and email address, of every copy in raw_web.events. A second
-- staging model of the events, and a view, not deduplicated:
-- int_web_cookie_identities keeps each combination's first time only, so a
-- copy that repeats its event changes nothing, and stg_web__events, written
-- for every event, need not carry these two columns (a quarter of the time
-- it takes to write). The address is as the tracker sent it:
-- int_web_cookie_identities normalises it once per cookie and address
-- rather than once per event.
with

events as (
    select * from {{ source('web', 'events') }}
),

renamed as (
    select
        anonymous_id,
        user_id as contact_id,
        user_email as email_as_sent,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        _loaded_at as loaded_at
    from events
),

final as (
    select * from renamed
)

select * from final
