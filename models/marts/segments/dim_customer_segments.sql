-- Where each customer stands on the reporting day, for acting on it: the
-- lifecycle stage, RFM scores and segment (seeds/rfm_segments.csv), the VIP
-- flag, warm/cold engagement, and the recommended strategy
-- (seeds/segment_strategies.csv), and the predictions of the clv step
-- (P(alive), expected purchases and spend, predicted CLV; buyers only).
-- RFM covers buyers only: recency in days
-- since the last paid order, frequency in paid order days, monetary as net
-- revenue; each scored 1-5 by its quintile among buyers (ties share a score).
-- Everything as of the reporting day: the customers known by then (a
-- visitor first seen after it, with the last paid order's day as the
-- reporting day or an earlier var('as_of_date'), has no stage yet and joins
-- on a later one), their orders and responses up to it.
with

customers as (
    select * from {{ ref('dim_customers') }}
),

stages as (
    select * from {{ ref('fct_customer_stages') }}
    where is_current
),

order_days as (
    select * from {{ ref('int_customer_orders_sequenced') }}
),

email_events as (
    select * from {{ ref('fct_email_events') }}
),

web_sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

support_tickets as (
    select * from {{ ref('fct_support_tickets') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

strategies as (
    select * from {{ ref('segment_strategies') }}
),

predictions as (
    select * from {{ ref('stg_clv__customer_predictions') }}
),

buyer_values as (
    select
        order_days.customer_id,
        {{ periods_between('day', 'max(order_days.order_date)', 'any_value(settings.as_of_date)') }} as recency_days,
        count(*) as frequency,
        sum(order_days.net_revenue) as monetary
    from order_days
    cross join settings
    where order_days.order_date <= settings.as_of_date
    group by order_days.customer_id
),

scored as (
    select
        *,
        cast(ceil(5 * cume_dist() over (order by recency_days desc)) as integer) as recency_score,
        cast(ceil(5 * cume_dist() over (order by frequency)) as integer) as frequency_score,
        cast(ceil(5 * cume_dist() over (order by monetary)) as integer) as monetary_score
    from buyer_values
),

ranked as (
    select
        *,
        recency_score + frequency_score + monetary_score as rfm_score,
        percent_rank() over (order by recency_score + frequency_score + monetary_score, monetary) as rfm_percentile
    from scored
),

window_responses as (
    select customer_id, count(*) as responses
    from (
        select email_events.customer_id
        from email_events
        cross join settings
        where email_events.is_engagement
            and email_events.occurred_date > {{ add_periods('day', 'settings.as_of_date', -var('warm_cold_window_days')) }}
            and email_events.occurred_date <= settings.as_of_date
        union all
        select web_sessions.customer_id
        from web_sessions
        cross join settings
        where web_sessions.customer_id is not null
            and web_sessions.started_date > {{ add_periods('day', 'settings.as_of_date', -var('warm_cold_window_days')) }}
            and web_sessions.started_date <= settings.as_of_date
        union all
        -- A survey answered: a solved support ticket the customer rated. The
        -- exports give no time for the rating; the solving is the nearest.
        select support_tickets.customer_id
        from support_tickets
        cross join settings
        where support_tickets.satisfaction is not null
            and cast(support_tickets.solved_at as date) > {{ add_periods('day', 'settings.as_of_date', -var('warm_cold_window_days')) }}
            and cast(support_tickets.solved_at as date) <= settings.as_of_date
    ) as responses
    group by customer_id
),

-- An email is received when the service delivered it, or sent it and did
-- not report a bounce: many services (Mailchimp's activity among them)
-- report sends and bounces but no deliveries. One per campaign (a send
-- without a campaign on its own).
received_sends as (
    select
        email_events.customer_id,
        coalesce(email_events.campaign_id, email_events.email_event_id) as send_id
    from email_events
    cross join settings
    where email_events.event_type in ('sent', 'delivered', 'bounced')
        and email_events.occurred_date <= settings.as_of_date
    group by email_events.customer_id, coalesce(email_events.campaign_id, email_events.email_event_id)
    having bool_or(email_events.event_type = 'delivered') or not bool_or(email_events.event_type = 'bounced')
),

emails_received as (
    select customer_id, count(*) as emails_received
    from received_sends
    group by customer_id
),

segmented as (
    select
        customers.customer_id,
        stages.lifecycle_stage,
        stages.valid_from as stage_since,
        ranked.recency_days,
        ranked.frequency,
        ranked.monetary,
        ranked.recency_score,
        ranked.frequency_score,
        ranked.monetary_score,
        ranked.rfm_score,
        rfm_segments.rfm_segment,
        coalesce(ranked.rfm_percentile >= 1 - {{ var('vip_top_share') }}, false) as is_vip,
        coalesce(emails_received.emails_received, 0) as emails_received,
        coalesce(window_responses.responses, 0) as responses_in_window,
        case
            when window_responses.responses > 0 then 'warm'
            when coalesce(emails_received.emails_received, 0) >= {{ var('cold_min_emails_received') }} then 'cold'
            else 'unknown'
        end as engagement_status,
        case
            when ranked.customer_id is null then 'none'
            when ranked.monetary_score >= {{ var('high_value_min_monetary_score') }}
                or ranked.rfm_percentile >= 1 - {{ var('vip_top_share') }} then 'high'
            else 'low'
        end as value_tier
    from customers
    -- Every customer known by the reporting day has one current stint.
    inner join stages
        on customers.customer_id = stages.customer_id
    left join ranked
        on customers.customer_id = ranked.customer_id
    left join rfm_segments
        on ranked.recency_score between rfm_segments.recency_score_min and rfm_segments.recency_score_max
        and ranked.frequency_score between rfm_segments.frequency_score_min and rfm_segments.frequency_score_max
    left join window_responses
        on customers.customer_id = window_responses.customer_id
    left join emails_received
        on customers.customer_id = emails_received.customer_id
),

final as (
    select
        segmented.*,
        segmented.engagement_status = 'warm' as is_warm,
        strategies.strategy,
        strategies.campaign_type,
        predictions.p_alive,
        predictions.expected_purchases_90d,
        predictions.expected_purchases_365d,
        -- Money to the cent as DECIMAL, so that reports sum it exactly.
        cast(round(predictions.expected_spend, 2) as decimal(18, 2)) as expected_spend,
        cast(round(predictions.predicted_clv, 2) as decimal(18, 2)) as predicted_clv
    from segmented
    left join strategies
        on segmented.lifecycle_stage = strategies.lifecycle_stage
        and segmented.value_tier = strategies.value_tier
    left join predictions
        on segmented.customer_id = predictions.customer_id
)

select * from final
