-- How many customers each combination of the Lists page's filters selects,
-- so the page can tell the full size of a list even when it shows only a
-- preview of it.
with

list as (
    select * from {{ ref('rpt_customer_list') }}
),

final as (
    select
        lifecycle_stage,
        rfm_segment,
        strategy,
        cohort,
        acquisition_channel,
        -- 'none' as in tango export: no country on record.
        coalesce(country_code, 'none') as country_code,
        age_band,
        count(*) as customers,
        count(*) filter (where is_emailable) as emailable_customers
    from list
    group by lifecycle_stage, rfm_segment, strategy, cohort, acquisition_channel, coalesce(country_code, 'none'), age_band
)

select * from final
