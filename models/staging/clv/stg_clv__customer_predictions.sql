with

source as (
    select * from {{ source('clv', 'customer_predictions') }}
),

final as (
    select
        customer_id,
        p_alive,
        expected_purchases_90d,
        expected_purchases_365d,
        expected_spend,
        predicted_clv
    from source
)

select * from final
