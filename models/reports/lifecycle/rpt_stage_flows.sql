-- Stage flows: how many customers were in each stage on one date and in each
-- stage on a later one. Pairs of dates: every month end (see
-- rpt_stage_mix_monthly) to the next month end, and every month end to the
-- reporting day. from_stage is 'unknown' for customers not yet seen on the
-- first date.
with

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

snapshot_days as (
    select distinct snapshot_date from {{ ref('rpt_stage_mix_monthly') }}
),

date_pairs as (
    select
        snapshot_date as from_date,
        lead(snapshot_date) over (order by snapshot_date) as to_date,
        'next month end' as comparison
    from snapshot_days
    union all
    select
        snapshot_days.snapshot_date as from_date,
        (select max(snapshot_date) from snapshot_days) as to_date,
        'reporting day' as comparison
    from snapshot_days
),

valid_pairs as (
    select distinct from_date, to_date, comparison from date_pairs
    where to_date is not null and from_date < to_date
),

-- Each customer's stage on each snapshot day it was known: a stint covers a
-- day when it starts on or before it and ends after it.
stage_on_snapshot_days as (
    select
        snapshot_days.snapshot_date,
        stages.customer_id,
        stages.lifecycle_stage
    from snapshot_days
    inner join stages
        on stages.valid_from <= snapshot_days.snapshot_date
        and snapshot_days.snapshot_date < {{ open_end('stages.valid_to') }}
),

pairs_per_customer as (
    select
        valid_pairs.from_date,
        valid_pairs.to_date,
        valid_pairs.comparison,
        to_stages.customer_id,
        coalesce(from_stages.lifecycle_stage, 'unknown') as from_stage,
        to_stages.lifecycle_stage as to_stage
    from valid_pairs
    inner join stage_on_snapshot_days as to_stages
        on valid_pairs.to_date = to_stages.snapshot_date
    left join stage_on_snapshot_days as from_stages
        on valid_pairs.from_date = from_stages.snapshot_date
        and to_stages.customer_id = from_stages.customer_id
),

final as (
    select
        from_date,
        to_date,
        comparison,
        from_stage,
        to_stage,
        count(*) as customers
    from pairs_per_customer
    group by from_date, to_date, comparison, from_stage, to_stage
)

select * from final
