-- Stage flows: how many customers were in each stage on one date and in each
-- stage on a later one. Pairs of dates: every month end (see
-- rpt_stage_mix_monthly) to the next month end, and every month end to the
-- reporting day. from_stage is 'unknown' for customers not yet seen on the
-- first date. Between any two dates: the function reports.stage_flows_between
-- this model creates (sql/macros/stage_flows.sql), which finds each
-- customer's stage on both dates.
--
-- Here the month-end pairs are counted from the stints instead, grouped:
-- finding every customer's stage on every month end and pairing them would
-- join tens of millions of rows at a million customers. A stint holds on
-- the month ends from the month it starts in up to, not including, the
-- month it ends in (sql/macros/stint_months.sql, as in
-- rpt_stage_mix_monthly); a customer's stints that hold on some month end
-- follow each other without a gap, from the month it is first known in.
-- test/models/truth.test.ts checks the two ways agree.
{{
    config(
        post_hook="{{ create_stage_flows_function(ref('fct_customer_stages'), ref('int_reporting_settings')) }}",
    )
}}

with

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

snapshot_days as (
    select distinct month_start, snapshot_date from {{ ref('rpt_stage_mix_monthly') }}
),

bounds as (
    select
        min(month_start) as first_month,
        max(month_start) as last_month,
        max(snapshot_date) as reporting_date
    from snapshot_days
),

-- The stints that hold on at least one month end, and the months they hold on: [from_month, until_month).
month_end_stints as (
    select *
    from (
        select customer_id, lifecycle_stage, {{ stint_months('valid_from', 'valid_to') }}
        from stages
    ) as stint_months
    where until_month is null or from_month < until_month
),

current_stints as (
    select customer_id, lifecycle_stage from stages
    where valid_to is null
),

-- Month end to the next, for a customer in the same stint on both: every
-- month its stint holds on but the first.
next_month_stays as (
    select
        snapshot_days.month_start as to_month,
        stays.lifecycle_stage as from_stage,
        stays.lifecycle_stage as to_stage,
        sum(stays.stints) as customers
    from (
        select lifecycle_stage, from_month, until_month, count(*) as stints
        from month_end_stints
        group by lifecycle_stage, from_month, until_month
    ) as stays
    inner join snapshot_days
        on stays.from_month < snapshot_days.month_start
        and snapshot_days.month_start < {{ open_end('stays.until_month') }}
    group by snapshot_days.month_start, stays.lifecycle_stage
),

-- Month end to the next, for a customer whose stint on the later one began
-- in its month: from the stint that held on the month end before, which
-- ends in that month, or from unknown if none did.
next_month_moves as (
    select
        to_stints.from_month as to_month,
        coalesce(from_stints.lifecycle_stage, 'unknown') as from_stage,
        to_stints.lifecycle_stage as to_stage,
        count(*) as customers
    from month_end_stints as to_stints
    cross join bounds
    left join month_end_stints as from_stints
        on to_stints.customer_id = from_stints.customer_id
        and to_stints.from_month = from_stints.until_month
    where to_stints.from_month > bounds.first_month
    group by to_stints.from_month, coalesce(from_stints.lifecycle_stage, 'unknown'), to_stints.lifecycle_stage
),

next_month_end as (
    select
        from_days.snapshot_date as from_date,
        to_days.snapshot_date as to_date,
        'next month end' as comparison,
        flows.from_stage,
        flows.to_stage,
        cast(sum(flows.customers) as bigint) as customers
    from (
        select * from next_month_stays
        union all
        select * from next_month_moves
    ) as flows
    inner join snapshot_days as to_days
        on flows.to_month = to_days.month_start
    inner join snapshot_days as from_days
        on {{ add_periods('month', 'from_days.month_start', 1) }} = to_days.month_start
    group by from_days.snapshot_date, to_days.snapshot_date, flows.from_stage, flows.to_stage
),

-- A month end to the reporting day: each stint that held on it, against
-- its customer's current stage; before its first stint's month, a customer
-- comes from unknown.
to_current_stage as (
    select
        month_end_stints.lifecycle_stage as from_stage,
        current_stints.lifecycle_stage as to_stage,
        month_end_stints.from_month,
        month_end_stints.until_month,
        count(*) as customers
    from month_end_stints
    inner join current_stints
        on month_end_stints.customer_id = current_stints.customer_id
    group by month_end_stints.lifecycle_stage, current_stints.lifecycle_stage, month_end_stints.from_month, month_end_stints.until_month
),

unknown_to_current_stage as (
    select
        'unknown' as from_stage,
        current_stints.lifecycle_stage as to_stage,
        -- Any month before the first month end.
        {{ add_periods('month', 'bounds.first_month', -1) }} as from_month,
        first_months.first_month as until_month,
        count(*) as customers
    from (
        select customer_id, {{ month_start('min(valid_from)') }} as first_month
        from stages
        group by customer_id
    ) as first_months
    inner join current_stints
        on first_months.customer_id = current_stints.customer_id
    cross join bounds
    group by current_stints.lifecycle_stage, first_months.first_month, bounds.first_month
),

to_reporting_day as (
    select
        snapshot_days.snapshot_date as from_date,
        bounds.reporting_date as to_date,
        'reporting day' as comparison,
        flows.from_stage,
        flows.to_stage,
        cast(sum(flows.customers) as bigint) as customers
    from (
        select * from to_current_stage
        union all
        select * from unknown_to_current_stage
    ) as flows
    inner join snapshot_days
        on flows.from_month <= snapshot_days.month_start
        and snapshot_days.month_start < {{ open_end('flows.until_month') }}
    cross join bounds
    where snapshot_days.month_start < bounds.last_month
    group by snapshot_days.snapshot_date, bounds.reporting_date, flows.from_stage, flows.to_stage
),

final as (
    select * from next_month_end
    union all
    select * from to_reporting_day
)

select * from final
