-- The customers at risk today, ranked by value at stake (their predicted
-- CLV, what is lost if they lapse), with P(alive), the days since the last
-- order and how far that is past their expected interval. The top
-- var('at_risk_ranked_customers') are kept; contact details stay out (they
-- are on the Lists page and in exports only).
with

segments as (
    select * from {{ ref('dim_customer_segments') }}
    where lifecycle_stage = 'at_risk'
),

stages as (
    select * from {{ ref('fct_customer_stages') }}
    where is_current
),

customers as (
    select * from {{ ref('dim_customers') }}
),

ranked as (
    select
        segments.customer_id,
        row_number() over (order by coalesce(segments.predicted_clv, 0) desc, segments.monetary desc, segments.customer_id) as value_rank,
        coalesce(segments.predicted_clv, 0) as value_at_stake,
        segments.p_alive,
        segments.recency_days as days_since_last_order,
        stages.expected_interval_days_at_entry as expected_interval_days,
        segments.recency_days - stages.expected_interval_days_at_entry as days_overdue,
        segments.stage_since as at_risk_since,
        segments.frequency as paid_order_days,
        segments.monetary as net_revenue,
        segments.rfm_segment,
        segments.value_tier,
        segments.strategy,
        customers.acquisition_channel,
        customers.cohort_month
    from segments
    inner join stages
        on segments.customer_id = stages.customer_id
    inner join customers
        on segments.customer_id = customers.customer_id
),

final as (
    select * from ranked
    where value_rank <= {{ var('at_risk_ranked_customers') }}
)

select * from final
