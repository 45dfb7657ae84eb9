-- Raw contract: web analytics events (NDJSON, gzipped or not). {schema} is raw_<source name>.
create schema if not exists {schema};
create table if not exists {schema}.events (
    event_id varchar not null,
    anonymous_id varchar not null,
    user_email varchar,                 -- set once the visitor signs up or logs in
    event_type varchar not null,        -- page_view | product_view | add_to_cart | sign_up | login
    occurred_at timestamptz not null,
    page_url varchar,
    utm_source varchar,
    utm_medium varchar,
    utm_campaign varchar,
    device varchar,
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
