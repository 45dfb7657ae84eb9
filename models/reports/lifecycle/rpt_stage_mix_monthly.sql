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

counts as (
    select
        snapshot_days.month_start,
        snapshot_days.snapshot_date,
        stages.lifecycle_stage,
        count(*) as customers
    from snapshot_days
    inner join stages
        on stages.valid_from <= snapshot_days.snapshot_date
        and snapshot_days.snapshot_date < {{ open_end('stages.valid_to') }}
    group by snapshot_days.month_start, snapshot_days.snapshot_date, stages.lifecycle_stage
),

final as (
    select
        snapshot_days.month_start,
        snapshot_days.snapshot_date,
        lifecycle_stages.lifecycle_stage,
        lifecycle_stages.precedence,
        coalesce(counts.customers, 0) as customers,
        coalesce(counts.customers, 0) / nullif(sum(coalesce(counts.customers, 0)) over (partition by snapshot_days.month_start), 0) as share_pct
    from snapshot_days
    cross join lifecycle_stages
    left join counts
        on snapshot_days.month_start = counts.month_start
        and lifecycle_stages.lifecycle_stage = counts.lifecycle_stage
)

select * from final
