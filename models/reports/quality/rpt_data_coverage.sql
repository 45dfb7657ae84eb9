-- What each source system delivered: a data set without web or email data
-- shows zero rows there, and the report pages say so instead of breaking.
{%- set entities = [
    ('crm', 'contacts', 'stg_crm__contacts', 'created_at'),
    ('crm', 'leads', 'stg_crm__leads', 'created_at'),
    ('crm', 'orders', 'stg_crm__orders', 'ordered_at'),
    ('crm', 'payments', 'stg_crm__payments', 'paid_at'),
    ('crm', 'refunds', 'stg_crm__refunds', 'refunded_at'),
    ('crm', 'referrals', 'stg_crm__referrals', 'referred_at'),
    ('crm', 'reviews', 'stg_crm__reviews', 'reviewed_at'),
    ('crm', 'support_tickets', 'stg_crm__support_tickets', 'opened_at'),
    ('crm', 'marketing_spend', 'stg_crm__marketing_spend', 'spend_month'),
    ('web', 'events', 'stg_web__events', 'occurred_at'),
    ('email', 'campaigns', 'stg_email__campaigns', 'scheduled_at'),
    ('email', 'events', 'stg_email__events', 'occurred_at'),
] %}

with

coverage as (
    {% for domain, entity, model, timestamp in entities %}
    select
        '{{ domain }}' as domain,
        '{{ entity }}' as entity,
        count(*) as row_count,
        min({{ timestamp }}) as first_at,
        max({{ timestamp }}) as last_at
    from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        domain,
        entity,
        row_count,
        row_count > 0 as has_data,
        first_at,
        last_at
    from coverage
)

select * from final
