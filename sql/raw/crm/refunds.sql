-- Raw contract: refunds and credit notes. A credit note may not name the order
-- it reverses, so order_id is optional; contact_id then says whose it is.
create schema if not exists {schema};
create table if not exists {schema}.refunds (
    refund_id varchar not null,
    order_id varchar,
    contact_id varchar,
    refunded_at timestamptz not null check (refunded_at < now() + interval '1 day'),
    amount decimal(18, 2) not null check (amount >= 0),     -- positive: money returned
    currency varchar not null,
    reason varchar,
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
