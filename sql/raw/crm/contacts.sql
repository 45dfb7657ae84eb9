-- Raw contract: CRM contacts. {schema} is raw_<source name>.
-- NOT NULL marks a required column: a row without it is quarantined.
-- Timestamps without an offset are read as UTC.
create schema if not exists {schema};
create table if not exists {schema}.contacts (
    contact_id varchar not null,
    email varchar,                      -- as typed: case and whitespace vary
    phone varchar,
    first_name varchar,
    last_name varchar,
    gender varchar,
    birth_year integer,
    age_band varchar,                   -- where the CRM keeps a band (e.g. '25-34') instead of a birth year
    country varchar,                    -- ISO 3166-1 alpha-2
    city varchar,
    acquisition_channel varchar,        -- the CRM's "source" field
    referred_by_contact_id varchar,
    owner varchar,                      -- account manager
    email_consent boolean,
    created_at timestamptz,             -- null when the system never recorded it
    updated_at timestamptz,
    social_handles varchar,             -- as the CRM keeps them, e.g. 'instagram:@ann.lee; x:@annlee'
    custom_properties json check (json_type(custom_properties) = 'OBJECT'),   -- the CRM's own fields, as one JSON object
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
