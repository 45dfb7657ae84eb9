-- One row per model per clv step: parameters and diagnostics, or why the
-- fit failed. {schema} is raw_clv.
create schema if not exists {schema};
create table if not exists {schema}.model_fits (
    run_id varchar not null,
    fitted_at timestamp not null,            -- UTC
    model varchar not null,                  -- bgnbd | gamma_gamma
    status varchar not null,                 -- fitted | failed
    parameters json,
    log_likelihood double,
    iterations integer,
    evaluations integer,
    customers bigint,
    repeat_customers bigint,
    excluded_customers bigint,               -- left out of the model (gamma_gamma: no positive mean repeat value)
    message varchar,
    standard_errors json                     -- asymptotic, per parameter (null where the Hessian gives none)
);
