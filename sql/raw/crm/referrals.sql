-- Raw contract: referrals, one row per person a contact invited.
create schema if not exists {schema};
create table if not exists {schema}.referrals (
    referral_id varchar not null,
    referrer_contact_id varchar not null,
    referred_email varchar,
    referred_contact_id varchar,        -- set once the invited person is a contact
    referred_at timestamptz not null,
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
