-- Raw contract: support tickets a contact opened (help desk: email, chat,
-- phone), with the satisfaction rating the customer gave when it was solved,
-- if asked and answered. Optional: a company without a help desk export
-- leaves the table empty and the support figures blank.
create schema if not exists {schema};
create table if not exists {schema}.support_tickets (
    ticket_id varchar not null,
    contact_id varchar not null,
    opened_at timestamptz not null check (opened_at < now() + interval '1 day'),
    solved_at timestamptz check (solved_at >= opened_at),   -- null while unsolved
    status varchar not null check (status in ('open', 'pending', 'solved', 'closed')),   -- closed: solved and locked
    topic varchar,                      -- the help desk's category, e.g. delivery, refund, product, billing, account
    satisfaction integer check (satisfaction between 1 and 5),   -- the customer's rating of the support (CSAT survey), null if not rated
    is_deleted boolean,                 -- soft delete in the source system
    _loaded_at timestamp not null,
    _run_id varchar not null,
    _origin varchar not null,
    _line bigint
);
