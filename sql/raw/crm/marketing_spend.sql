-- Raw contract: marketing spend, one row per month, channel and purpose, as
-- the marketing team or finance books it; a month booked again replaces the
-- earlier figure (merged on spend_month, channel, purpose). Optional: a
-- company without it leaves the table empty and the cost reports blank.
create schema if not exists {schema};
create table if not exists {schema}.marketing_spend (
    spend_month date not null check (day(spend_month) = 1),   -- the month's first day
    channel varchar not null,           -- the acquisition channels of seeds/utm_channels.csv (paid_search, social, email, referral, organic)
    purpose varchar not null check (purpose in ('acquisition', 'retention')),   -- winning new customers, or keeping those who bought
    amount decimal(18, 2) not null check (amount >= 0),
    currency varchar not null,
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
