-- Time in stage: for each lifecycle stage, how many stints there were and
-- how long the finished ones lasted (the current stints are still running,
-- so they are counted but not in the durations).
with

stages as (
    select * from {{ ref('fct_customer_stages') }}
),

final as (
    select
        lifecycle_stage,
        count(*) as stints,
        count(*) filter (where not is_current) as finished_stints,
        count(*) filter (where is_current) as current_stints,
        {{ median('days_in_stage') }} filter (where not is_current) as median_days_in_stage,
        avg(days_in_stage) filter (where not is_current) as mean_days_in_stage
    from stages
    group by lifecycle_stage
)

select * from final
