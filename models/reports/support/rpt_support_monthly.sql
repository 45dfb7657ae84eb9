-- Support per month a ticket was opened, up to the reporting day's month
-- (flagged incomplete): tickets opened and the customers who opened them,
-- how many are solved so far and the median hours it took, and how the
-- customers rated it: satisfied (CSAT) from var('support_satisfied_min_rating')
-- stars, poorly rated at var('support_poor_max_rating') or fewer.
with

tickets as (
    select * from {{ ref('fct_support_tickets') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

monthly as (
    select
        {{ month_start('tickets.opened_at') }} as opened_month,
        count(*) as tickets_opened,
        count(distinct tickets.customer_id) as customers_with_tickets,
        count(*) filter (where tickets.is_solved) as tickets_solved,
        {{ median('tickets.hours_to_solve') }} as median_hours_to_solve,
        count(tickets.satisfaction) as rated_tickets,
        count(*) filter (where tickets.satisfaction >= {{ var('support_satisfied_min_rating') }}) as satisfied_tickets,
        count(*) filter (where tickets.is_poorly_rated) as poorly_rated_tickets
    from tickets
    cross join settings
    where tickets.opened_date <= settings.as_of_date
    group by {{ month_start('tickets.opened_at') }}
),

final as (
    select
        monthly.opened_month,
        {{ period_complete_by_reporting_day('month', 'monthly.opened_month') }} as is_complete_month,
        monthly.tickets_opened,
        monthly.customers_with_tickets,
        monthly.tickets_solved,
        monthly.median_hours_to_solve,
        monthly.rated_tickets,
        monthly.satisfied_tickets,
        monthly.satisfied_tickets / nullif(monthly.rated_tickets, 0) as csat_pct,
        monthly.poorly_rated_tickets
    from monthly
    cross join settings
)

select * from final
