-- Monthly active-customer accounting, as product-analytics tools report it:
-- of the customers with a paid order in a month, how many are new (first
-- order), returning (also bought the month before) and resurrecting (bought
-- before, but not the month before); dormant counts those who bought the
-- month before and not in this one (shown negative in such charts).
with

orders as (
    select * from {{ ref('fct_orders') }}
    where is_paid
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

active_months as (
    select distinct customer_id, {{ month_start('ordered_at') }} as activity_month
    from orders
),

flagged as (
    select
        *,
        lag(activity_month) over (partition by customer_id order by activity_month) as previous_activity_month,
        lead(activity_month) over (partition by customer_id order by activity_month) as next_activity_month
    from active_months
),

classified as (
    select
        activity_month,
        case
            when previous_activity_month is null then 'new'
            when previous_activity_month = {{ add_periods('month', 'activity_month', -1) }} then 'returning'
            else 'resurrecting'
        end as status
    from flagged
    union all
    -- Dormant in the month after the last active one in a run.
    select
        {{ add_periods('month', 'activity_month', 1) }} as activity_month,
        'dormant' as status
    from flagged
    cross join settings
    where (next_activity_month is null or next_activity_month > {{ add_periods('month', 'activity_month', 1) }})
        and {{ add_periods('month', 'activity_month', 1) }} <= settings.as_of_date
),

final as (
    select
        activity_month,
        count(*) filter (where status in ('new', 'returning', 'resurrecting')) as active_customers,
        count(*) filter (where status = 'new') as new_customers,
        count(*) filter (where status = 'returning') as returning_customers,
        count(*) filter (where status = 'resurrecting') as resurrecting_customers,
        count(*) filter (where status = 'dormant') as dormant_customers
    from classified
    group by activity_month
)

select * from final
