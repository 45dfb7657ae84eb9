-- Kaplan-Meier survival of customers from their first paid order: the share
-- still not lapsed after t months. A customer's event is its first entry
-- into the lapsed stage (fct_customer_stages); a customer not lapsed by the
-- reporting day is censored at its age then, not counted as lost. Bounds:
-- 95 % pointwise, Greenwood's variance, clipped to [0, 1]. Months are
-- 30.4375-day units from the first order. One curve overall and one per
-- first-touch channel.
with

customers as (
    select * from {{ ref('dim_customers') }}
    where acquisition_date is not null
),

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

first_lapses as (
    select customer_id, min(valid_from) as lapsed_date
    from stages
    where lifecycle_stage = 'lapsed'
    group by customer_id
),

durations as (
    select
        customers.customer_id,
        customers.acquisition_channel,
        first_lapses.lapsed_date is not null as has_lapsed,
        floor(
            {{ periods_between('day', 'customers.acquisition_date', 'coalesce(first_lapses.lapsed_date, settings.as_of_date)') }} / 30.4375
        ) as months
    from customers
    cross join settings
    left join first_lapses
        on customers.customer_id = first_lapses.customer_id
),

curves as (
    select 'all' as breakdown, 'all' as breakdown_value, months, has_lapsed from durations
    union all
    select 'acquisition_channel' as breakdown, acquisition_channel as breakdown_value, months, has_lapsed from durations
),

per_month as (
    select
        breakdown,
        breakdown_value,
        months,
        count(*) filter (where has_lapsed) as lapsed,
        count(*) filter (where not has_lapsed) as censored
    from curves
    group by breakdown, breakdown_value, months
),

at_risk as (
    select
        *,
        sum(lapsed + censored) over (
            partition by breakdown, breakdown_value order by months desc rows unbounded preceding
        ) as customers_at_risk
    from per_month
),

steps as (
    select
        *,
        -- log(1 - d/n) summed is the log of the product; a step with d = n
        -- takes the curve to 0 for good.
        sum(case when lapsed < customers_at_risk then ln(1 - lapsed / customers_at_risk) else 0 end) over curve as log_survival,
        bool_or(lapsed = customers_at_risk) over curve as has_ended,
        sum(
            case when lapsed < customers_at_risk then lapsed / (customers_at_risk * (customers_at_risk - lapsed)) else 0 end
        ) over curve as greenwood_sum
    from at_risk
    window curve as (partition by breakdown, breakdown_value order by months rows unbounded preceding)
),

final as (
    select
        breakdown,
        breakdown_value,
        cast(months as integer) as months_since_first_order,
        customers_at_risk,
        lapsed,
        censored,
        case when has_ended then 0 else exp(log_survival) end as survival_pct,
        greatest(0, case when has_ended then 0 else exp(log_survival) * (1 - 1.96 * sqrt(greenwood_sum)) end) as survival_lower_pct,
        least(1, case when has_ended then 0 else exp(log_survival) * (1 + 1.96 * sqrt(greenwood_sum)) end) as survival_upper_pct
    from steps
)

select * from final
