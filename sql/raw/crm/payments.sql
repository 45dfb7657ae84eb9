-- Raw contract: payments received for orders.
create schema if not exists {schema};
create table if not exists {schema}.payments (
    payment_id varchar not null,
    order_id varchar not null,
    paid_at timestamptz check (paid_at < now() + interval '1 day'),
    amount decimal(18, 2) not null check (amount >= 0),
    currency varchar not null,
    method varchar,                     -- card | paypal | bank_transfer | gift_card | ...
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
