-- Raw contract: CRM orders export. {schema} is raw_<source name>.
create schema if not exists {schema};
create table if not exists {schema}.orders (
    order_id varchar not null,
    contact_id varchar not null,
    ordered_at timestamptz not null,
    status varchar not null,            -- paid | refunded | cancelled
    amount decimal(18, 2) not null,
    currency varchar not null,
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
