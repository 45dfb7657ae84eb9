-- The recommended strategy per segment (seeds/segment_strategies.csv: stage
-- and value tier), with how many customers each applies to and what they are
-- worth, so a marketer can weigh a campaign before pulling its list.
with

segments as (
    select * from {{ ref('dim_customer_segments') }}
),

final as (
    select
        strategy,
        campaign_type,
        lifecycle_stage,
        value_tier,
        count(*) as customers,
        coalesce(sum(monetary), 0) as net_revenue,
        coalesce(sum(predicted_clv), 0) as predicted_clv,
        -- Averaged as decimals: an exact sum, so every build gives the same figure.
        avg(cast(p_alive as decimal(18, 9))) as avg_p_alive
    from segments
    group by strategy, campaign_type, lifecycle_stage, value_tier
)

select * from final
