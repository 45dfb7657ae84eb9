-- Raw contract: CRM leads and deals (sign-ups, consultation requests, quotes).
create schema if not exists {schema};
create table if not exists {schema}.leads (
    lead_id varchar not null,
    contact_id varchar not null,
    lead_type varchar not null,         -- sign_up | consultation | quote
    status varchar not null,            -- open | won | lost
    amount decimal(18, 2),              -- expected deal value, if any
    created_at timestamptz not null,
    closed_at timestamptz,
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
