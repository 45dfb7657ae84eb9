-- Stage flows: how many customers were in each stage on one date and in each
-- stage on a later one. Pairs of dates: every month end (see
-- rpt_stage_mix_monthly) to the next month end, and every month end to the
-- reporting day. from_stage is 'unknown' for customers not yet seen on the
-- first date. The same query between any two dates: the function
-- reports.stage_flows_between this model creates (sql/macros/stage_flows.sql).
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

final as (
    {{ stage_flows('stages', 'valid_pairs') }}
)

select * from final
