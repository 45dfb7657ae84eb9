-- A customer's lifecycle stage changes only on certain days: when it is
-- first seen, shows intent, orders, becomes overdue (at risk, lapsed) by its
-- expected interval or is predicted no longer alive (lapsed), reaches the
-- loyalty tenure, gains or loses engagement, or one of its referred
-- customers buys or it gives a positive review. This model evaluates the
-- stage on each such day, up to the reporting day; the stage holds until
-- the next.
-- Precedence (seeds/lifecycle_stages.csv): lapsed, at_risk, advocate, loyal,
-- regular, repeat, new, lead, prospect.
{%- set max_p_alive = var('lifecycle_lapsed_max_p_alive') %}
{%- if not (max_p_alive is number and 0 <= max_p_alive < 1) %}
    {{ exceptions.raise_compiler_error("var lifecycle_lapsed_max_p_alive must be a number from 0 (off) up to 1, not " ~ max_p_alive) }}
{%- endif %}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

customer_keys as (
    select * from {{ ref('int_customer_keys_resolved') }}
    where key_type = 'contact_id' and not is_internal
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

reviews as (
    select * from {{ ref('stg_crm__reviews') }}
),

web_events as (
    select * from {{ ref('stg_web__events') }}
),

cookie_keys as (
    select * from {{ ref('int_customer_keys_resolved') }}
    where key_type = 'anonymous_id' and not is_internal
),

order_days as (
    select * from {{ ref('int_customer_orders_sequenced') }}
),

engagement_periods as (
    select * from {{ ref('int_customer_engagement_periods') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

model_fits as (
    select * from {{ ref('stg_clv__model_fits') }}
),

-- The BG/NBD parameters the clv step of this transform fitted (in
-- var('clv_time_unit_days') units). None if that fit failed, was fitted on
-- fewer than var('lifecycle_predicted_min_repeat_buyers') repeat buyers, or
-- no clv step ran: then nobody is predicted no longer alive.
latest_frequency_fits as (
    select
        *,
        row_number() over (order by fitted_at desc, run_id desc) as recency_rank
    from model_fits
    where model = 'bgnbd'
),

frequency_fit as (
    select
        {{ json_number('parameters', 'r') }} as r,
        {{ json_number('parameters', 'alpha') }} as alpha,
        {{ json_number('parameters', 'a') }} as a,
        {{ json_number('parameters', 'b') }} as b
    from latest_frequency_fits
    where recency_rank = 1
        and status = 'fitted'
        and repeat_customers >= {{ var('lifecycle_predicted_min_repeat_buyers') }}
),

intent_days as (
    select customer_keys.customer_id, cast(leads.created_at as date) as intent_date
    from leads
    inner join customer_keys
        on leads.contact_id = customer_keys.key_value
    union all
    select cookie_keys.customer_id, cast(web_events.occurred_at as date) as intent_date
    from web_events
    inner join cookie_keys
        on web_events.anonymous_id = cookie_keys.key_value
    where web_events.event_type in ('{{ var("lifecycle_intent_web_events") | join("', '") }}')
),

first_intents as (
    select customer_id, min(intent_date) as intent_date
    from intent_days
    group by customer_id
),

-- Until the next order, BG/NBD's probability that the customer is still
-- alive, with x repeat order days and the last t_x time units after the
-- first, at age T (time units since the first order day), is
--   P(alive) = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))
-- (1 while x = 0). It falls as T grows, below p = var('lifecycle_lapsed_max_p_alive')
-- once T exceeds
--   T* = (alpha + t_x) * ((1 - p) / p * (b + x - 1) / a)^(1 / (r + x)) - alpha,
-- the same P(alive) the clv step gives on the reporting day. Here in days
-- since the first order; null if never (one order day, no fit, p = 0), or
-- not within a century.
predicted_gone_days as (
    select
        order_days.*,
        case
            when order_days.order_number > 1 and {{ max_p_alive }} > 0 then
                {{ var('clv_time_unit_days') }} * (
                    (frequency_fit.alpha + {{ periods_between('day', 'order_days.first_order_date', 'order_days.order_date') }} / {{ var('clv_time_unit_days') }})
                    * power(
                        (1 - {{ max_p_alive }}) / {{ max_p_alive }}
                        * (frequency_fit.b + order_days.order_number - 2) / frequency_fit.a,
                        1 / (frequency_fit.r + order_days.order_number - 1)
                    )
                    - frequency_fit.alpha
                )
        end as gone_after_days
    from order_days
    left join frequency_fit
        on 1 = 1
),

overdue_days as (
    select
        *,
        -- The first day the days since this order exceed interval x tolerance.
        {{ add_periods('day', 'order_date', 'floor(expected_interval_days * ' ~ var('lifecycle_at_risk_tolerance') ~ ') + 1') }} as at_risk_from,
        {{ add_periods('day', 'order_date', 'floor(expected_interval_days * ' ~ var('lifecycle_lapsed_multiplier') ~ ') + 1') }} as lapsed_from,
        -- The first day the age exceeds T*, and never the order day itself.
        case when gone_after_days < 36525 then
            greatest(
                {{ add_periods('day', 'first_order_date', 'floor(gone_after_days) + 1') }},
                {{ add_periods('day', 'order_date', 1) }}
            )
        end as predicted_gone_from
    from predicted_gone_days
),

-- What makes an advocate, per day: referred customers who bought (on the
-- day of their first paid order) and positive reviews.
advocacy_credits as (
    select
        referred_by_customer_id as customer_id,
        acquisition_date as credit_date,
        count(*) as referred_buyers,
        0 as positive_reviews
    from customers
    where referred_by_customer_id is not null and acquisition_date is not null
    group by referred_by_customer_id, acquisition_date
    union all
    select
        customer_keys.customer_id,
        cast(reviews.reviewed_at as date) as credit_date,
        0 as referred_buyers,
        count(*) as positive_reviews
    from reviews
    inner join customer_keys
        on reviews.contact_id = customer_keys.key_value
    where reviews.rating >= {{ var('lifecycle_advocate_min_review_rating') }}
    group by customer_keys.customer_id, cast(reviews.reviewed_at as date)
),

daily_credits as (
    select customer_id, credit_date, sum(referred_buyers) as referred_buyers, sum(positive_reviews) as positive_reviews
    from advocacy_credits
    group by customer_id, credit_date
),

cumulative_credits as (
    select
        customer_id,
        credit_date,
        sum(referred_buyers) over (partition by customer_id order by credit_date rows unbounded preceding) as referred_buyers,
        sum(positive_reviews) over (partition by customer_id order by credit_date rows unbounded preceding) as positive_reviews,
        lead(credit_date) over (partition by customer_id order by credit_date) as next_credit_date
    from daily_credits
),

known_days as (
    select
        customers.customer_id,
        -- A customer with no dated trace at all (a contact export without
        -- creation dates) is a prospect as of the reporting day.
        coalesce(least(cast(customers.first_seen_at as date), first_intents.intent_date), settings.as_of_date) as known_date,
        first_intents.intent_date,
        {{ add_periods('day', 'customers.acquisition_date', var('lifecycle_loyal_min_tenure_days')) }} as loyal_tenure_date
    from customers
    cross join settings
    left join first_intents
        on customers.customer_id = first_intents.customer_id
),

candidate_days as (
    select customer_id, known_date as stage_date from known_days
    union
    select customer_id, intent_date from known_days
    union
    select customer_id, loyal_tenure_date from known_days
    union
    select customer_id, order_date from overdue_days
    -- An order's overdue days count only before the next order, which has its own.
    union
    select customer_id, at_risk_from from overdue_days where at_risk_from < {{ open_end('next_order_date') }}
    union
    select customer_id, lapsed_from from overdue_days where lapsed_from < {{ open_end('next_order_date') }}
    union
    select customer_id, predicted_gone_from from overdue_days where predicted_gone_from < {{ open_end('next_order_date') }}
    union
    select customer_id, credit_date from cumulative_credits
    union
    select customer_id, engaged_from from engagement_periods
    union
    select customer_id, engaged_until from engagement_periods
),

stage_days as (
    select candidate_days.customer_id, candidate_days.stage_date
    from candidate_days
    inner join known_days
        on candidate_days.customer_id = known_days.customer_id
    cross join settings
    where candidate_days.stage_date is not null
        and candidate_days.stage_date >= known_days.known_date
        and candidate_days.stage_date <= settings.as_of_date
),

evaluated as (
    select
        stage_days.customer_id,
        stage_days.stage_date,
        overdue_days.order_number,
        overdue_days.order_date as last_order_date,
        overdue_days.expected_interval_days,
        overdue_days.has_personal_rhythm,
        overdue_days.predicted_gone_from,
        {{ periods_between('day', 'overdue_days.first_order_date', 'stage_days.stage_date') }} as tenure_days,
        engagement_periods.customer_id is not null as is_engaged,
        coalesce(cumulative_credits.referred_buyers, 0) as referred_buyers,
        coalesce(cumulative_credits.positive_reviews, 0) as positive_reviews,
        case
            when overdue_days.order_number is null then
                case when known_days.intent_date <= stage_days.stage_date then 'lead' else 'prospect' end
            when stage_days.stage_date >= overdue_days.lapsed_from
                or stage_days.stage_date >= overdue_days.predicted_gone_from
                then 'lapsed'
            when stage_days.stage_date >= overdue_days.at_risk_from then 'at_risk'
            when overdue_days.has_personal_rhythm
                and (
                    coalesce(cumulative_credits.referred_buyers, 0) >= {{ var('lifecycle_advocate_min_referred_buyers') }}
                    or (
                        {{ var('lifecycle_advocate_min_positive_reviews') }} > 0
                        and coalesce(cumulative_credits.positive_reviews, 0) >= {{ var('lifecycle_advocate_min_positive_reviews') }}
                    )
                )
                then 'advocate'
            when overdue_days.has_personal_rhythm
                and stage_days.stage_date >= known_days.loyal_tenure_date
                and engagement_periods.customer_id is not null
                then 'loyal'
            when overdue_days.has_personal_rhythm then 'regular'
            when overdue_days.order_number >= 2 then 'repeat'
            else 'new'
        end as lifecycle_stage,
        -- Why lapsed: overdue by its rhythm (checked first), else predicted no longer alive.
        case
            when stage_days.stage_date >= overdue_days.lapsed_from then 'overdue'
            when stage_days.stage_date >= overdue_days.predicted_gone_from then 'predicted'
        end as lapse_reason
    from stage_days
    inner join known_days
        on stage_days.customer_id = known_days.customer_id
    left join overdue_days
        on stage_days.customer_id = overdue_days.customer_id
        and overdue_days.order_date <= stage_days.stage_date
        and stage_days.stage_date < {{ open_end('overdue_days.next_order_date') }}
    left join engagement_periods
        on stage_days.customer_id = engagement_periods.customer_id
        and engagement_periods.engaged_from <= stage_days.stage_date
        and stage_days.stage_date < engagement_periods.engaged_until
    left join cumulative_credits
        on stage_days.customer_id = cumulative_credits.customer_id
        and cumulative_credits.credit_date <= stage_days.stage_date
        and stage_days.stage_date < {{ open_end('cumulative_credits.next_credit_date') }}
),

final as (
    select * from evaluated
)

select * from final
