-- How many customers are in each lifecycle stage at the end of each month
-- (the last month ends on the reporting day): one row per month per stage.
with

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

lifecycle_stages as (
    select * from {{ ref('lifecycle_stages') }}
),

bounds as (
    select
        {{ month_start('min(stages.valid_from)') }} as first_month,
        {{ month_start('settings.as_of_date') }} as last_month
    from stages
    cross join settings
    group by settings.as_of_date
),

month_numbers as (
    select
        first_month,
        {{ integer_series(0, periods_between('month', 'first_month', 'last_month')) }} as month_number
    from bounds
),

months as (
    select {{ add_periods('month', 'first_month', 'month_number') }} as month_start
    from month_numbers
),

snapshot_days as (
    select
        months.month_start,
        least({{ add_periods('day', add_periods('month', 'months.month_start', 1), -1) }}, settings.as_of_date) as snapshot_date
    from months
    cross join settings
),

-- The months whose ends each stint holds on: [from_month, until_month)
-- (sql/macros/stint_months.sql).
stint_months as (
    select lifecycle_stage, {{ stint_months('valid_from', 'valid_to') }}
    from stages
),

-- So a stage's count at a month end is the stints that started by that
-- month less those that ended by it: two counts per month, not every stint
-- joined with every month end it covers.
stint_changes as (
    select from_month as month_start, lifecycle_stage, count(*) as change
    from stint_months
    group by from_month, lifecycle_stage
    union all
    select until_month as month_start, lifecycle_stage, -count(*) as change
    from stint_months
    where until_month is not null
    group by until_month, lifecycle_stage
),

monthly_changes as (
    select month_start, lifecycle_stage, sum(change) as change
    from stint_changes
    group by month_start, lifecycle_stage
),

counts as (
    select
        snapshot_days.month_start,
        snapshot_days.snapshot_date,
        lifecycle_stages.lifecycle_stage,
        lifecycle_stages.precedence,
        cast(sum(coalesce(monthly_changes.change, 0)) over (
            partition by lifecycle_stages.lifecycle_stage order by snapshot_days.month_start rows unbounded preceding
        ) as bigint) as customers
    from snapshot_days
    cross join lifecycle_stages
    left join monthly_changes
        on snapshot_days.month_start = monthly_changes.month_start
        and lifecycle_stages.lifecycle_stage = monthly_changes.lifecycle_stage
),

final as (
    select
        *,
        customers / nullif(sum(customers) over (partition by month_start), 0) as share_pct
    from counts
)

select * from final
