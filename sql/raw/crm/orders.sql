-- Raw contract: orders. {schema} is raw_<source name>.
create schema if not exists {schema};
create table if not exists {schema}.orders (
    order_id varchar not null,
    contact_id varchar not null,
    ordered_at timestamptz not null check (ordered_at < now() + interval '1 day'),
    status varchar not null,            -- paid | refunded | cancelled
    amount decimal(18, 2) check (amount >= 0),            -- gross, before discount; null when only payments carry it
    discount decimal(18, 2) check (discount >= 0),
    currency varchar not null,          -- ISO 4217
    item_count integer check (item_count >= 0),
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
