-- Raw contract: email campaigns as the email service lists them.
create schema if not exists {schema};
create table if not exists {schema}.campaigns (
    campaign_id varchar not null,
    name varchar,
    campaign_type varchar,              -- newsletter | promo | post_purchase | reactivation | reminder
    subject varchar,
    scheduled_at timestamptz,
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
