-- The thresholds in force for this build: every dbt var the definitions
-- name, with its value as the models saw it and its meaning from
-- seeds/glossary.csv. A var missing from either side leaves a null that the
-- not_null tests catch, so the Definitions page cannot go stale.
{%- set threshold_vars = [
    'as_of_date', 'reporting_currency', 'internal_email_patterns', 'placeholder_email_patterns', 'identity_max_contacts_per_email', 'session_inactivity_minutes',
    'lifecycle_min_orders_for_rhythm', 'lifecycle_fallback_rhythm_days', 'lifecycle_at_risk_tolerance',
    'lifecycle_lapsed_multiplier', 'lifecycle_lapsed_max_p_alive', 'lifecycle_predicted_min_repeat_buyers', 'lifecycle_intent_web_events', 'lifecycle_loyal_min_tenure_days',
    'lifecycle_engagement_window_days', 'lifecycle_advocate_min_referred_buyers',
    'lifecycle_advocate_min_positive_reviews', 'lifecycle_advocate_min_review_rating',
    'clv_time_unit_days', 'clv_horizon_months', 'clv_annual_discount_rate', 'clv_distribution_bins', 'retention_lift_points',
    'vip_top_share', 'high_value_min_monetary_score', 'cold_min_emails_received', 'warm_cold_window_days',
    'email_opt_out_events', 'email_undeliverable_bounce_types', 'support_satisfied_min_rating', 'support_poor_max_rating', 'churn_driver_window_days',
    'at_risk_ranked_customers',
] %}

with

glossary as (
    select * from {{ ref('glossary') }}
    where kind = 'threshold'
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

vars_in_force as (
    {% for name in threshold_vars %}
    {%- set value = var(name) -%}
    {%- if value is string -%}{%- set text = value -%}
    {%- elif value is iterable -%}{%- set text = value | join(', ') -%}
    {%- else -%}{%- set text = value | string -%}{%- endif %}
    select '{{ name }}' as threshold, '{{ text | replace("'", "''") }}' as configured_value
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        coalesce(vars_in_force.threshold, glossary.term) as threshold,
        vars_in_force.configured_value,
        -- The two that default to the data say what they resolved to.
        case coalesce(vars_in_force.threshold, glossary.term)
            when 'as_of_date' then cast(settings.as_of_date as varchar)
            when 'reporting_currency' then settings.reporting_currency
            else vars_in_force.configured_value
        end as value_in_force,
        glossary.definition as meaning
    from vars_in_force
    full outer join glossary
        on vars_in_force.threshold = glossary.term
    cross join settings
)

select * from final
