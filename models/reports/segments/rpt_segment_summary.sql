-- Customers and value per segment, one breakdown at a time: lifecycle stage,
-- RFM segment, recommended strategy, VIP, warm/cold, value tier, referral,
-- and the drill-downs by geography (country), first-touch channel and age band.
-- Value is both historical (net revenue so far) and predicted (the clv
-- step's predicted CLV and P(alive), buyers only).
{%- set breakdowns = ['lifecycle_stage', 'rfm_segment', 'strategy', 'is_vip', 'engagement_status', 'value_tier', 'is_referred', 'country_code', 'acquisition_channel', 'age_band'] %}

with

segments as (
    select * from {{ ref('dim_customer_segments') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

joined as (
    select
        segments.*,
        customers.is_referred,
        customers.country_code,
        customers.acquisition_channel,
        customers.age_band,
        customers.net_revenue
    from segments
    inner join customers
        on segments.customer_id = customers.customer_id
),

final as (
    {% for breakdown in breakdowns %}
    select
        '{{ breakdown }}' as breakdown,
        coalesce(cast({{ breakdown }} as varchar), 'none') as breakdown_value,
        count(*) as customers,
        count(*) filter (where frequency > 0) as buyers,
        coalesce(sum(net_revenue), 0) as net_revenue,
        avg(net_revenue) filter (where frequency > 0) as avg_net_revenue_per_buyer,
        coalesce(sum(predicted_clv), 0) as predicted_clv,
        avg(predicted_clv) as avg_predicted_clv,
        -- Averaged as decimals: an exact sum, so every build gives the same figure.
        avg(cast(p_alive as decimal(18, 9))) as avg_p_alive
    from joined
    group by {{ breakdown }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from final
