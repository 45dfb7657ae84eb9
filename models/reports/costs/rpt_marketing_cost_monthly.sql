-- What winning a customer costs against keeping one, per month (DOMAIN.md:
-- "retaining a customer costs several times less than acquiring one", worth
-- checking on the shop's own data). CAC is the month's acquisition spend
-- over its new customers (first paid order in the month); the retention
-- cost is the month's retention spend over the customers it kept (bought
-- in the month having bought in an earlier one: returning and resurrecting
-- in rpt_customer_activity_monthly). A month's spend is set against the
-- same month's customers, with no lag between spending and buying. The
-- months with spend booked, up to the reporting day's (flagged incomplete).
with

spend as (
    select * from {{ ref('fct_marketing_spend') }}
),

activity as (
    select * from {{ ref('rpt_customer_activity_monthly') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

spend_per_month as (
    select
        spend_month,
        sum(spend) filter (where purpose = 'acquisition') as acquisition_spend,
        sum(spend) filter (where purpose = 'retention') as retention_spend
    from spend
    group by spend_month
),

monthly as (
    select
        spend_per_month.spend_month as cost_month,
        spend_per_month.acquisition_spend,
        spend_per_month.retention_spend,
        coalesce(activity.new_customers, 0) as new_customers,
        coalesce(activity.returning_customers + activity.resurrecting_customers, 0) as retained_customers
    from spend_per_month
    left join activity
        on spend_per_month.spend_month = activity.activity_month
),

costs as (
    select
        monthly.cost_month,
        {{ period_complete_by_reporting_day('month', 'monthly.cost_month') }} as is_complete_month,
        monthly.acquisition_spend,
        monthly.new_customers,
        monthly.acquisition_spend / nullif(monthly.new_customers, 0) as acquisition_cost_per_customer,
        monthly.retention_spend,
        monthly.retained_customers,
        monthly.retention_spend / nullif(monthly.retained_customers, 0) as retention_cost_per_customer,
        -- How many times more a new customer cost than a kept one (4: retaining cost a quarter).
        (monthly.acquisition_spend / nullif(monthly.new_customers, 0))
            / nullif(monthly.retention_spend / nullif(monthly.retained_customers, 0), 0) as acquisition_to_retention_cost_ratio,
        settings.reporting_currency
    from monthly
    cross join settings
    where monthly.cost_month <= settings.as_of_date
),

final as (
    select
        costs.*,
        -- Relative change against the month before, if it has spend booked (0.1 = 10 % more).
        case when lag(cost_month) over (order by cost_month) = {{ add_periods('month', 'cost_month', -1) }}
            then acquisition_cost_per_customer / nullif(lag(acquisition_cost_per_customer) over (order by cost_month), 0) - 1
        end as acquisition_cost_change_pct,
        case when lag(cost_month) over (order by cost_month) = {{ add_periods('month', 'cost_month', -1) }}
            then retention_cost_per_customer / nullif(lag(retention_cost_per_customer) over (order by cost_month), 0) - 1
        end as retention_cost_change_pct
    from costs
)

select * from final
