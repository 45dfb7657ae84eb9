-- Every (recency, frequency) score pair falls in exactly one RFM segment.
with

scores as (
    select recency.score as recency_score, frequency.score as frequency_score
    from (select {{ integer_series(1, 5) }} as score) as recency
    cross join (select {{ integer_series(1, 5) }} as score) as frequency
),

matches as (
    select
        scores.recency_score,
        scores.frequency_score,
        count(rfm_segments.rfm_segment) as segments
    from scores
    left join {{ ref('rfm_segments') }} as rfm_segments
        on scores.recency_score between rfm_segments.recency_score_min and rfm_segments.recency_score_max
        and scores.frequency_score between rfm_segments.frequency_score_min and rfm_segments.frequency_score_max
    group by scores.recency_score, scores.frequency_score
)

select * from matches where segments <> 1
