-- When each customer counts as engaged: from an email open or click, or a
-- site visit, for var('lifecycle_engagement_window_days') days. Overlapping
-- windows merge into one period [engaged_from, engaged_until).
with

email_events as (
    select * from {{ ref('fct_email_events') }}
),

web_sessions as (
    select * from {{ ref('fct_web_sessions') }}
),

engagement_days as (
    select customer_id, occurred_date as engaged_date from email_events
    where is_engagement and customer_id is not null
    union
    select customer_id, started_date as engaged_date from web_sessions
    where customer_id is not null
),

gaps as (
    select
        *,
        lag(engaged_date) over (partition by customer_id order by engaged_date) as previous_engaged_date
    from engagement_days
),

numbered as (
    select
        *,
        sum(
            case
                when previous_engaged_date is null
                    or engaged_date >= {{ add_periods('day', 'previous_engaged_date', var('lifecycle_engagement_window_days')) }}
                then 1 else 0
            end
        ) over (partition by customer_id order by engaged_date rows unbounded preceding) as period_number
    from gaps
),

final as (
    select
        customer_id,
        period_number,
        min(engaged_date) as engaged_from,
        {{ add_periods('day', 'max(engaged_date)', var('lifecycle_engagement_window_days')) }} as engaged_until
    from numbered
    group by customer_id, period_number
)

select * from final
