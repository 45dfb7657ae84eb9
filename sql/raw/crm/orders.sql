-- Raw contract: orders. {schema} is raw_<source name>.
create schema if not exists {schema};
create table if not exists {schema}.orders (
    order_id varchar not null,
    contact_id varchar not null,
    ordered_at timestamptz not null,
    status varchar not null,            -- paid | refunded | cancelled
    amount decimal(18, 2),              -- gross, before discount; null when only payments carry it
    discount decimal(18, 2),
    currency varchar not null,          -- ISO 4217
    item_count integer,
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
