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

stage_on as (
    select
        valid_pairs.from_date,
        valid_pairs.to_date,
        valid_pairs.comparison,
        stages.customer_id,
        stages.lifecycle_stage,
        stages.valid_from,
        stages.valid_to
    from valid_pairs
    inner join stages
        on stages.valid_from <= valid_pairs.to_date
        and valid_pairs.from_date < {{ open_end('stages.valid_to') }}
),

pairs_per_customer as (
    select
        from_date,
        to_date,
        comparison,
        customer_id,
        coalesce(max(lifecycle_stage) filter (
            where valid_from <= from_date and from_date < {{ open_end('valid_to') }}
        ), 'unknown') as from_stage,
        max(lifecycle_stage) filter (
            where valid_from <= to_date and to_date < {{ open_end('valid_to') }}
        ) as to_stage
    from stage_on
    group by from_date, to_date, comparison, customer_id
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
    where to_stage is not null
    group by from_date, to_date, comparison, from_stage, to_stage
)

select * from final
