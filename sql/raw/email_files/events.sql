-- Raw contract: email service activity export. {schema} is raw_<source name>.
create schema if not exists {schema};
create table if not exists {schema}.events (
    event_id varchar not null,
    campaign_id varchar not null,
    subscriber_email varchar not null,
    event_type varchar not null,        -- sent | delivered | opened | clicked | bounced | unsubscribed
    occurred_at timestamptz not null,
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
