-- Help desk tickets of resolved customers: one row per ticket, with how
-- long it took to solve and the customer's rating of the support; the
-- shop's own accounts left out. A ticket counts as poorly rated at
-- var('support_poor_max_rating') stars or fewer.
with

tickets as (
    select * from {{ ref('stg_crm__support_tickets') }}
),

customer_keys as (
    select * from {{ ref('int_customer_keys_resolved') }}
    where key_type = 'contact_id'
),

final as (
    select
        tickets.ticket_id,
        customer_keys.customer_id,
        tickets.contact_id,
        tickets.opened_at,
        cast(tickets.opened_at as date) as opened_date,
        tickets.solved_at,
        tickets.status,
        tickets.status in ('solved', 'closed') as is_solved,
        -- In whole minutes, as hours.
        {{ periods_between('minute', 'tickets.opened_at', 'tickets.solved_at') }} / 60.0 as hours_to_solve,
        tickets.topic,
        tickets.satisfaction,
        tickets.satisfaction <= {{ var('support_poor_max_rating') }} as is_poorly_rated
    from tickets
    inner join customer_keys
        on tickets.contact_id = customer_keys.key_value
    where not customer_keys.is_internal
)

select * from final
