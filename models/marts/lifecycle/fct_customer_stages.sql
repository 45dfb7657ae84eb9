-- Each customer's lifecycle stage over time as intervals: one row per
-- customer per stint in a stage, valid from valid_from (inclusive) to
-- valid_to (exclusive; null while current). Consecutive days in the same
-- stage are one interval; time in stage counts to the reporting day for the
-- current one.
with

breakpoints as (
    select * from {{ ref('int_customer_stage_breakpoints') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

changes as (
    select
        *,
        lag(lifecycle_stage) over (partition by customer_id order by stage_date) as previous_stage
    from breakpoints
),

entries as (
    select * from changes
    where previous_stage is null or previous_stage <> lifecycle_stage
),

intervals as (
    select
        customer_id,
        lifecycle_stage,
        stage_date as valid_from,
        lead(stage_date) over (partition by customer_id order by stage_date) as valid_to,
        previous_stage,
        lead(lifecycle_stage) over (partition by customer_id order by stage_date) as next_stage,
        row_number() over (partition by customer_id order by stage_date) as stage_number,
        order_number as paid_order_days_at_entry,
        expected_interval_days as expected_interval_days_at_entry,
        lapse_reason as lapse_reason_at_entry
    from entries
),

final as (
    select
        intervals.customer_id || '-' || intervals.stage_number as customer_stage_id,
        intervals.*,
        intervals.valid_to is null as is_current,
        {{ periods_between('day', 'intervals.valid_from', 'coalesce(intervals.valid_to, ' ~ add_periods('day', 'settings.as_of_date', 1) ~ ')') }} as days_in_stage
    from intervals
    cross join settings
)

select * from final
