-- The retention curve across cohorts: for each month since the first order
-- (and breakdown), the cohort-size-weighted average over the cohorts whose
-- month is complete; incomplete months are left out, so a young cohort does
-- not pull the curve down.
--
-- Cumulative revenue per customer chains the months instead: each month
-- adds its own weighted revenue per customer, over the cohorts complete in
-- that month. Averaging the cumulative values themselves would compare
-- different cohorts from month to month (the older the month, the fewer and
-- older its cohorts), so the curve could fall; chained, it never does
-- while revenue is positive, and each month uses every cohort that has
-- lived through it.
with

by_cohort as (
    select * from {{ ref('rpt_cohort_retention_monthly') }}
    union all
    select * from {{ ref('rpt_cohort_retention_breakdown_monthly') }}
),

per_month as (
    select
        breakdown,
        breakdown_value,
        months_since_first_order,
        count(*) as cohorts,
        sum(cohort_customers) as cohort_customers,
        sum(active_customers) as active_customers,
        sum(active_customers) / sum(cohort_customers) as retention_pct,
        sum(active_on_or_after_customers) / sum(cohort_customers) as retention_on_or_after_pct,
        sum(net_revenue) / sum(cohort_customers) as revenue_per_customer
    from by_cohort
    where is_complete_period
    group by breakdown, breakdown_value, months_since_first_order
),

with_cumulative as (
    select
        *,
        sum(revenue_per_customer) over (
            partition by breakdown, breakdown_value
            order by months_since_first_order
            rows between unbounded preceding and current row
        ) as cumulative_revenue_per_customer,
        -- Buyers of the value: the customers of its cohorts in month 0.
        max(cohort_customers) filter (where months_since_first_order = 0) over (
            partition by breakdown, breakdown_value
        ) as value_buyers
    from per_month
),

final as (
    select
        * exclude (value_buyers),
        -- 1 for the value of its breakdown with the most buyers, so that a
        -- chart can show the largest few (ties by value, for a stable order).
        dense_rank() over (partition by breakdown order by value_buyers desc nulls last, breakdown_value) as buyers_rank
    from with_cumulative
)

select * from final
