-- The acquisition funnel: known (prospect) -> showed intent (lead) -> first
-- paid order -> second paid order, overall and by first-touch channel, with
-- the conversion from the step before and the median days it took. A
-- customer who bought without a recorded intent counts as having passed
-- the lead step on its first order day.
with

customers as (
    select * from {{ ref('dim_customers') }}
),

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

order_days as (
    select * from {{ ref('int_customer_orders_sequenced') }}
),

lead_entries as (
    select customer_id, min(valid_from) as lead_date
    from stages
    where lifecycle_stage = 'lead'
    group by customer_id
),

second_orders as (
    select customer_id, order_date as second_order_date
    from order_days
    where order_number = 2
),

journeys as (
    select
        customers.customer_id,
        customers.acquisition_channel,
        cast(customers.first_seen_at as date) as known_date,
        coalesce(lead_entries.lead_date, customers.acquisition_date) as lead_date,
        customers.acquisition_date as first_order_date,
        second_orders.second_order_date
    from customers
    left join lead_entries
        on customers.customer_id = lead_entries.customer_id
    left join second_orders
        on customers.customer_id = second_orders.customer_id
),

journeys_by_breakdown as (
    select 'all' as breakdown, 'all' as breakdown_value, * from journeys
    union all
    select 'acquisition_channel' as breakdown, acquisition_channel as breakdown_value, * from journeys
),

steps as (
    {%- set steps = [
        ('1', 'prospect', 'known_date', 'known_date'),
        ('2', 'lead', 'lead_date', 'known_date'),
        ('3', 'first order', 'first_order_date', 'lead_date'),
        ('4', 'second order', 'second_order_date', 'first_order_date'),
    ] %}
    {%- for number, name, reached, previous in steps %}
    select
        breakdown,
        breakdown_value,
        {{ number }} as step_number,
        '{{ name }}' as step,
        count({{ reached }}) as customers,
        {{ median(periods_between('day', previous, reached)) }} as median_days_from_previous_step
    from journeys_by_breakdown
    group by breakdown, breakdown_value
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        *,
        customers / nullif(lag(customers) over (partition by breakdown, breakdown_value order by step_number), 0) as conversion_from_previous_pct,
        customers / nullif(first_value(customers) over (partition by breakdown, breakdown_value order by step_number), 0) as conversion_from_start_pct
    from steps
)

select * from final
