-- The retention curve across cohorts: for each month since the first order
-- (and breakdown), the cohort-size-weighted average over the cohorts whose
-- month is complete; incomplete months are left out, so a young cohort does
-- not pull the curve down.
with

by_cohort as (
    select * from {{ ref('rpt_cohort_retention_monthly') }}
    union all
    select * from {{ ref('rpt_cohort_retention_breakdown_monthly') }}
),

final as (
    select
        breakdown,
        breakdown_value,
        months_since_first_order,
        count(*) as cohorts,
        sum(cohort_customers) as cohort_customers,
        sum(active_customers) as active_customers,
        sum(active_customers) / sum(cohort_customers) as retention_pct,
        sum(active_on_or_after_customers) / sum(cohort_customers) as retention_on_or_after_pct,
        sum(cumulative_revenue) / sum(cohort_customers) as cumulative_revenue_per_customer
    from by_cohort
    where is_complete_period
    group by breakdown, breakdown_value, months_since_first_order
)

select * from final
