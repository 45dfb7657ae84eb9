-- Raw contract: reviews and ratings a contact gave (of the shop or a product).
create schema if not exists {schema};
create table if not exists {schema}.reviews (
    review_id varchar not null,
    contact_id varchar not null,
    rating integer not null check (rating between 1 and 5),   -- stars
    reviewed_at timestamptz not null check (reviewed_at < now() + interval '1 day'),
    product_id varchar,                 -- null for a review of the shop itself
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
