with

source as (
    select * from {{ source('clv', 'model_fits') }}
),

final as (
    select
        run_id,
        fitted_at,
        model,
        status,
        parameters,
        standard_errors,
        log_likelihood,
        iterations,
        evaluations,
        customers,
        repeat_customers,
        excluded_customers,
        message
    from source
)

select * from final
