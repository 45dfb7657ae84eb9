-- Raw contract: web analytics events (NDJSON, gzipped or not). {schema} is raw_<source name>.
create schema if not exists {schema};
create table if not exists {schema}.events (
    event_id varchar not null,
    anonymous_id varchar not null,      -- the browser cookie
    session_id varchar,
    user_id varchar,                    -- the CRM contact id, once the visitor signs up or logs in
    user_email varchar,                 -- as typed at sign-up or login
    event_type varchar not null,        -- page_view | product_view | add_to_cart | sign_up | login | purchase
    occurred_at timestamptz not null check (occurred_at < now() + interval '1 day'),
    page_url varchar,
    product_id varchar,
    utm_source varchar,
    utm_medium varchar,
    utm_campaign varchar,
    device varchar,                     -- desktop | mobile | tablet
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
