-- The distribution of predicted CLV over buyers, as a histogram: bins of
-- equal width from 0 to the 99th percentile (var clv_distribution_bins of
-- them), the last one open-ended so the few largest values do not squash
-- the rest. By referral too, since referred customers are expected to be
-- worth more.
with

segments as (
    select * from {{ ref('dim_customer_segments') }}
    where predicted_clv is not null
),

customers as (
    select * from {{ ref('dim_customers') }}
),

scored as (
    select segments.predicted_clv, customers.is_referred
    from segments
    inner join customers
        on segments.customer_id = customers.customer_id
),

bounds as (
    select greatest({{ quantile('predicted_clv', 0.99) }}, 1e-9) / {{ var('clv_distribution_bins') }} as bin_width
    from scored
),

binned as (
    select
        least(
            cast(floor(greatest(scored.predicted_clv, 0) / bounds.bin_width) as integer),
            {{ var('clv_distribution_bins') }} - 1
        ) as bin,
        scored.is_referred,
        scored.predicted_clv,
        bounds.bin_width
    from scored
    cross join bounds
),

by_breakdown as (
    select 'all' as breakdown, 'all' as breakdown_value, bin, predicted_clv, bin_width
    from binned
    union all
    select 'is_referred' as breakdown, cast(is_referred as varchar) as breakdown_value, bin, predicted_clv, bin_width
    from binned
),

final as (
    select
        breakdown,
        breakdown_value,
        bin,
        any_value(bin * bin_width) as bin_lower,
        any_value(case when bin = {{ var('clv_distribution_bins') }} - 1 then null else (bin + 1) * bin_width end) as bin_upper,
        count(*) as customers,
        avg(predicted_clv) as avg_predicted_clv
    from by_breakdown
    group by breakdown, breakdown_value, bin
)

select * from final
