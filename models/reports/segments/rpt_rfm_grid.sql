-- The RFM grid: one row per recency and frequency score (1-5 each) that has
-- buyers, with its segment name, the buyers in the cell, and their average
-- monetary value and predicted CLV.
with

segments as (
    select * from {{ ref('dim_customer_segments') }}
    where rfm_segment is not null
),

final as (
    select
        recency_score,
        frequency_score,
        any_value(rfm_segment) as rfm_segment,
        count(*) as customers,
        avg(monetary) as avg_net_revenue,
        avg(predicted_clv) as avg_predicted_clv
    from segments
    group by recency_score, frequency_score
)

select * from final
