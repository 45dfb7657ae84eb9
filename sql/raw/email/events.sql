-- Raw contract: email service activity, one row per event.
create schema if not exists {schema};
create table if not exists {schema}.events (
    event_id varchar not null,
    campaign_id varchar not null,
    subscriber_id varchar,              -- the email service's own key
    subscriber_email varchar not null,
    event_type varchar not null,        -- sent | delivered | opened | clicked | bounced | unsubscribed | complained
    occurred_at timestamptz not null check (occurred_at < now() + interval '1 day'),
    url varchar,                        -- clicked link
    bounce_type varchar,                -- hard | soft
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
