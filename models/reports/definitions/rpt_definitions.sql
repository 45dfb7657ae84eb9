-- The glossary the Definitions page shows: the lifecycle stages and RFM
-- segments from their own seeds (the rules the models apply), and the
-- metrics, overlays and strategies of seeds/glossary.csv. Thresholds are
-- in rpt_thresholds, with their values.
with

stages as (
    select * from {{ ref('lifecycle_stages') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

glossary as (
    select * from {{ ref('glossary') }}
    where kind <> 'threshold'
),

final as (
    select 'stage' as kind, lifecycle_stage as term, definition, precedence as sort_order
    from stages
    union all
    select
        'rfm segment' as kind,
        rfm_segment as term,
        description
            || ' (recency score ' || recency_score_min || '-' || recency_score_max
            || ', frequency score ' || frequency_score_min || '-' || frequency_score_max || ')' as definition,
        null as sort_order
    from rfm_segments
    union all
    select kind, term, definition, null as sort_order
    from glossary
)

select * from final
