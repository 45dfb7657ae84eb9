-- Churn per month: customers entering at risk and lapsed in the month, the
-- customers active (new to advocate, or at risk) at its start, and the
-- churn rate: entries into lapsed over customers active at the start. The
-- entries into lapsed also by why they began (fct_customer_stages'
-- lapse_reason_at_entry): overdue by the rhythm, or predicted no longer
-- alive. Also how many are at risk and lapsed at the month's end.
with

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

stage_mix as (
    select * from {{ ref('rpt_stage_mix_monthly') }}
),

lifecycle_stages as (
    select * from {{ ref('lifecycle_stages') }}
),

months as (
    select distinct month_start, snapshot_date from stage_mix
),

-- The customers active at a month's start are those whose stage on the
-- last day of the month before was a customer's and not lapsed: the stage
-- mix at that month's end (none before the first month). Counting the
-- stints that cover the day again would join every stint with every month.
active_at_start as (
    select
        {{ add_periods('month', 'stage_mix.month_start', 1) }} as month_start,
        cast(sum(stage_mix.customers) as bigint) as active_customers_at_start
    from stage_mix
    inner join lifecycle_stages
        on stage_mix.lifecycle_stage = lifecycle_stages.lifecycle_stage
    where lifecycle_stages.is_customer and stage_mix.lifecycle_stage <> 'lapsed'
    group by stage_mix.month_start
),

-- A stint counts as an entry in the month it starts in (every stint starts
-- on or before the reporting day, in one of the months).
entries as (
    select
        {{ month_start('valid_from') }} as month_start,
        count(*) filter (where lifecycle_stage = 'at_risk') as entered_at_risk,
        count(*) filter (where lifecycle_stage = 'lapsed') as entered_lapsed,
        count(*) filter (where lifecycle_stage = 'lapsed' and lapse_reason_at_entry = 'overdue') as entered_lapsed_overdue,
        count(*) filter (where lifecycle_stage = 'lapsed' and lapse_reason_at_entry = 'predicted') as entered_lapsed_predicted
    from stages
    group by {{ month_start('valid_from') }}
),

at_end as (
    select
        month_start,
        sum(customers) filter (where lifecycle_stage = 'at_risk') as at_risk_at_end,
        sum(customers) filter (where lifecycle_stage = 'lapsed') as lapsed_at_end
    from stage_mix
    group by month_start
),

final as (
    select
        months.month_start,
        months.snapshot_date as month_end,
        coalesce(active_at_start.active_customers_at_start, 0) as active_customers_at_start,
        coalesce(entries.entered_at_risk, 0) as entered_at_risk,
        coalesce(entries.entered_lapsed, 0) as entered_lapsed,
        coalesce(entries.entered_lapsed_overdue, 0) as entered_lapsed_overdue,
        coalesce(entries.entered_lapsed_predicted, 0) as entered_lapsed_predicted,
        coalesce(at_end.at_risk_at_end, 0) as at_risk_at_end,
        coalesce(at_end.lapsed_at_end, 0) as lapsed_at_end,
        coalesce(entries.entered_lapsed, 0) / nullif(active_at_start.active_customers_at_start, 0) as churn_rate_pct
    from months
    left join active_at_start
        on months.month_start = active_at_start.month_start
    left join entries
        on months.month_start = entries.month_start
    left join at_end
        on months.month_start = at_end.month_start
)

select * from final
