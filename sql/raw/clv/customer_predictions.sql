-- Predictions of the clv step (pipelines/clv/score.ts), one row per buyer,
-- replaced by each transform. {schema} is raw_clv.
create schema if not exists {schema};
create table if not exists {schema}.customer_predictions (
    customer_id varchar not null,
    p_alive double not null,                 -- BG/NBD probability that the customer still buys
    expected_purchases_90d double not null,
    expected_purchases_365d double not null,
    expected_spend double,                   -- Gamma-Gamma mean future purchase value; null if it could not be fitted
    predicted_clv double,                    -- discounted value over var clv_horizon_months; null without expected_spend
    _run_id varchar not null,
    _loaded_at timestamp not null
);
