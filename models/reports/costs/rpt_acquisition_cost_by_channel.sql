-- Acquisition cost and value per first-touch channel, over the complete
-- months with spend booked: the channel's acquisition spend over the
-- customers it won in those months (first paid order in them, by
-- dim_customers.acquisition_channel), and what those customers are worth:
-- net revenue so far (historical LTV) and predicted CLV per customer, each
-- against the CAC (LTV:CAC). A row 'all' covers every channel (customers of
-- channels with no spend booked included: the shop paid for them through
-- the others) and adds the retention side over the same months: retention
-- spend per customer kept (rpt_marketing_cost_monthly).
with

customers as (
    select * from {{ ref('dim_customers') }}
),

segments as (
    select * from {{ ref('dim_customer_segments') }}
),

spend as (
    select * from {{ ref('fct_marketing_spend') }}
),

monthly_costs as (
    select * from {{ ref('rpt_marketing_cost_monthly') }}
),

complete_months as (
    select cost_month from monthly_costs where is_complete_month
),

won_customers as (
    select
        customers.customer_id,
        customers.acquisition_channel,
        customers.net_revenue,
        segments.predicted_clv
    from customers
    inner join complete_months
        on customers.cohort_month = complete_months.cost_month
    left join segments
        on customers.customer_id = segments.customer_id
),

-- Per channel, and over all of them (channel 'all').
won_per_channel as (
    select
        coalesce(acquisition_channel, 'all') as acquisition_channel,
        count(*) as new_customers,
        sum(net_revenue) as net_revenue,
        avg(predicted_clv) as predicted_clv_per_customer
    from won_customers
    group by grouping sets ((acquisition_channel), ())
),

spend_per_channel as (
    select
        coalesce(spend.channel, 'all') as acquisition_channel,
        sum(spend.spend) as acquisition_spend
    from spend
    inner join complete_months
        on spend.spend_month = complete_months.cost_month
    where spend.purpose = 'acquisition'
    group by grouping sets ((spend.channel), ())
),

retention as (
    select
        'all' as acquisition_channel,
        sum(retention_spend) as retention_spend,
        sum(retained_customers) as retained_customers
    from monthly_costs
    where is_complete_month
),

joined as (
    select
        coalesce(spend_per_channel.acquisition_channel, won_per_channel.acquisition_channel) as acquisition_channel,
        spend_per_channel.acquisition_spend,
        coalesce(won_per_channel.new_customers, 0) as new_customers,
        won_per_channel.net_revenue / won_per_channel.new_customers as net_revenue_per_customer,
        won_per_channel.predicted_clv_per_customer
    from spend_per_channel
    full outer join won_per_channel
        on spend_per_channel.acquisition_channel = won_per_channel.acquisition_channel
),

with_cac as (
    select
        joined.*,
        joined.acquisition_spend / nullif(joined.new_customers, 0) as acquisition_cost_per_customer,
        retention.retention_spend,
        retention.retained_customers,
        retention.retention_spend / nullif(retention.retained_customers, 0) as retention_cost_per_customer
    from joined
    left join retention
        on joined.acquisition_channel = retention.acquisition_channel
),

final as (
    select
        acquisition_channel,
        acquisition_spend,
        new_customers,
        acquisition_cost_per_customer,
        net_revenue_per_customer,
        predicted_clv_per_customer,
        -- LTV:CAC, on the value so far, and with the next
        -- var('clv_horizon_months') predicted (null without predictions).
        net_revenue_per_customer / nullif(acquisition_cost_per_customer, 0) as net_revenue_to_cac,
        (net_revenue_per_customer + predicted_clv_per_customer) / nullif(acquisition_cost_per_customer, 0) as expected_value_to_cac,
        retention_spend,
        retained_customers,
        retention_cost_per_customer,
        acquisition_cost_per_customer / nullif(retention_cost_per_customer, 0) as acquisition_to_retention_cost_ratio
    from with_cac
)

select * from final
