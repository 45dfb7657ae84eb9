{#- An email event's customer, and whether it is one of the shop's own
    accounts: its subscriber id's, or else its email's (the keys of
    int_customer_keys_resolved of each type, joined as `subscriber_keys` and
    `email_keys`). fct_email_events and its pre-hook below both resolve
    events by these, so a build that writes some events again agrees with
    a full one. -#}
{% macro email_event_customer_id(subscriber_keys, email_keys) -%}
    coalesce({{ subscriber_keys }}.customer_id, {{ email_keys }}.customer_id)
{%- endmacro %}

{% macro email_event_is_internal(subscriber_keys, email_keys) -%}
    coalesce({{ subscriber_keys }}.is_internal, {{ email_keys }}.is_internal, false)
{%- endmacro %}

{#- fct_email_events' pre-hooks (incremental builds only): delete the stored
    events whose row no longer matches, so that the build writes them again
    from the events as they are (or leaves them out). Each works on the
    stored rows' distinct keys or campaigns, not on every event, and reads
    the current keys and campaigns as the model does.

    The stored events of a subscriber id and email pair that resolves to
    another customer now, or to an internal one, are stale. -#}
{% macro delete_email_events_of_reresolved_keys() -%}
{%- if is_incremental() -%}
delete from {{ this }}
using (
    select pairs.subscriber_id, pairs.email
    from (select distinct subscriber_id, email, customer_id from {{ this }}) as pairs
    left join {{ ref('int_customer_keys_resolved') }} as subscriber_keys
        on subscriber_keys.key_type = 'subscriber_id'
        and pairs.subscriber_id = subscriber_keys.key_value
    left join {{ ref('int_customer_keys_resolved') }} as email_keys
        on email_keys.key_type = 'email'
        and pairs.email = email_keys.key_value
    where
        pairs.customer_id is distinct from {{ email_event_customer_id('subscriber_keys', 'email_keys') }}
        or {{ email_event_is_internal('subscriber_keys', 'email_keys') }}
) as stale
where
    {{ this }}.subscriber_id is not distinct from stale.subscriber_id
    and {{ this }}.email is not distinct from stale.email
{%- endif -%}
{%- endmacro %}

{#- The stored events of a campaign whose name or type changed (or that
    was missing and has arrived) are stale. -#}
{% macro delete_email_events_of_changed_campaigns() -%}
{%- if is_incremental() -%}
delete from {{ this }}
where campaign_id in (
    select stored.campaign_id
    from (select distinct campaign_id, campaign_name, campaign_type from {{ this }}) as stored
    left join {{ ref('stg_email__campaigns') }} as campaigns
        on stored.campaign_id = campaigns.campaign_id
    where
        stored.campaign_name is distinct from campaigns.campaign_name
        or stored.campaign_type is distinct from campaigns.campaign_type
)
{%- endif -%}
{%- endmacro %}
