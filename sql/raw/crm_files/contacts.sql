-- Raw contract: CRM contacts export. {schema} is raw_<source name>.
-- NOT NULL marks a required column: a row without it is quarantined.
-- Timestamps without an offset are read as UTC.
create schema if not exists {schema};
create table if not exists {schema}.contacts (
    contact_id varchar not null,
    email varchar,
    first_name varchar,
    last_name varchar,
    country varchar,
    acquisition_channel varchar,
    referred_by_contact_id varchar,
    created_at timestamptz not null,
    updated_at timestamptz,
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
