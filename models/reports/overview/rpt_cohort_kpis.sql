-- The executive trend lines, one row per monthly acquisition cohort: its
-- retention in month 1, 3 and 12 after the first order, and its 12-month
-- LTV (net revenue per cohort customer over months 0 to 11). A value is null
-- until the cohort has lived through that month completely, so a young
-- cohort never shows a number that can still grow. The change against the
-- cohort before sits beside each, for comparisons.
with

retention as (
    select * from {{ ref('rpt_cohort_retention_monthly') }}
    where breakdown = 'all'
),

per_cohort as (
    select
        cohort_month,
        any_value(cohort_customers) as cohort_customers,
        max(retention_pct) filter (where months_since_first_order = 1 and is_complete_period) as retention_month_1_pct,
        max(retention_pct) filter (where months_since_first_order = 3 and is_complete_period) as retention_month_3_pct,
        max(retention_pct) filter (where months_since_first_order = 12 and is_complete_period) as retention_month_12_pct,
        max(cumulative_revenue_per_customer) filter (where months_since_first_order = 11 and is_complete_period) as ltv_12_months
    from retention
    group by cohort_month
),

final as (
    select
        *,
        -- Retention changes in percentage points (0.02 = 2 points), LTV relatively.
        retention_month_1_pct - lag(retention_month_1_pct) over (order by cohort_month) as retention_month_1_change,
        retention_month_3_pct - lag(retention_month_3_pct) over (order by cohort_month) as retention_month_3_change,
        retention_month_12_pct - lag(retention_month_12_pct) over (order by cohort_month) as retention_month_12_change,
        ltv_12_months / nullif(lag(ltv_12_months) over (order by cohort_month), 0) - 1 as ltv_12_months_change_pct
    from per_cohort
)

select * from final
