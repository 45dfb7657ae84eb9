-- The marketers' list: one row per customer with the contact fields an email
-- tool needs, where the customer stands (stage, RFM segment, VIP, warm/cold)
-- and the recommended strategy and campaign. The Lists page and `tango
-- export` both read it; it is the only report model with contact details.
-- The filter columns are text with no nulls ('none' for a non-buyer), so a
-- filter can match every value.
with

customers as (
    select * from {{ ref('dim_customers') }}
),

segments as (
    select * from {{ ref('dim_customer_segments') }}
),

final as (
    select
        customers.customer_id,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.phone,
        customers.country_code,
        coalesce(customers.age_band, 'none') as age_band,
        customers.social_handles,
        -- The CRM's own fields, so a list can be narrowed on them in the email tool.
        customers.custom_properties,
        customers.has_email_consent,
        customers.email_suppressed_reason,
        customers.is_emailable,
        coalesce(segments.lifecycle_stage, 'none') as lifecycle_stage,
        coalesce(segments.rfm_segment, 'none') as rfm_segment,
        coalesce(segments.strategy, 'none') as strategy,
        segments.campaign_type,
        coalesce({{ month_label('customers.cohort_month') }}, 'none') as cohort,
        coalesce(customers.acquisition_channel, 'none') as acquisition_channel,
        segments.is_vip,
        segments.engagement_status,
        segments.value_tier,
        customers.paid_orders,
        customers.net_revenue,
        customers.last_paid_order_at,
        -- Unsolved help desk tickets: a promotion can wait until they are solved.
        customers.open_support_tickets,
        segments.p_alive,
        segments.predicted_clv
    from customers
    inner join segments
        on customers.customer_id = segments.customer_id
)

select * from final
