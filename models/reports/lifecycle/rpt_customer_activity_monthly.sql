-- Monthly active-customer accounting, as product-analytics tools report it:
-- of the customers with a paid order in a month, how many are new (first
-- order), returning (also bought the month before) and resurrecting (bought
-- before, but not the month before); dormant counts those who bought the
-- month before and not in this one (shown negative in such charts). Net
-- revenue splits the same way: from new customers, and from everyone who
-- bought before (returning and resurrecting).
with

orders as (
    select * from {{ ref('fct_orders') }}
    where is_paid
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

active_months as (
    select
        customer_id,
        {{ month_start('ordered_at') }} as activity_month,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, {{ month_start('ordered_at') }}
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
        end as status,
        net_revenue
    from flagged
    union all
    -- Dormant in the month after the last active one in a run.
    select
        {{ add_periods('month', 'activity_month', 1) }} as activity_month,
        'dormant' as status,
        0 as net_revenue
    from flagged
    cross join settings
    where (next_activity_month is null or next_activity_month > {{ add_periods('month', 'activity_month', 1) }})
        and {{ add_periods('month', 'activity_month', 1) }} <= settings.as_of_date
),

monthly as (
    select
        activity_month,
        count(*) filter (where status in ('new', 'returning', 'resurrecting')) as active_customers,
        count(*) filter (where status = 'new') as new_customers,
        count(*) filter (where status = 'returning') as returning_customers,
        count(*) filter (where status = 'resurrecting') as resurrecting_customers,
        count(*) filter (where status = 'dormant') as dormant_customers,
        coalesce(sum(net_revenue) filter (where status = 'new'), 0) as new_customer_revenue,
        coalesce(sum(net_revenue) filter (where status in ('returning', 'resurrecting')), 0) as returning_customer_revenue
    from classified
    group by activity_month
),

final as (
    select
        monthly.*,
        {{ period_complete_by_reporting_day('month', 'monthly.activity_month') }} as is_complete_month,
        -- Relative change against the month before (0.1 = 10 % more).
        active_customers / nullif(lag(active_customers) over (order by activity_month), 0) - 1 as active_customers_change_pct,
        new_customer_revenue / nullif(lag(new_customer_revenue) over (order by activity_month), 0) - 1 as new_customer_revenue_change_pct,
        returning_customer_revenue / nullif(lag(returning_customer_revenue) over (order by activity_month), 0) - 1 as returning_customer_revenue_change_pct
    from monthly
    cross join settings
)

select * from final
