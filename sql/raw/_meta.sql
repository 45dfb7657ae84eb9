-- Pipeline state and the run log. Written only by the TypeScript pipeline.
create schema if not exists _meta;

-- One row per `tango run` / `tango extract` / scheduled job.
create table if not exists _meta.pipeline_runs (
    run_id varchar not null,
    command varchar not null,
    steps varchar[] not null,
    started_at timestamp not null,     -- UTC
    ended_at timestamp,                -- UTC; null while running
    status varchar not null,           -- running | succeeded | failed | interrupted
    error varchar,
    step_timings json,                 -- [{step, started_at, ended_at, seconds, status}]
    stream_counts json                 -- [{source, stream, rows_read, rows_loaded, rows_quarantined}]
);

-- Every file a file source loaded, committed in the same transaction as its
-- rows, so a file is either loaded and listed here, or neither.
create table if not exists _meta.loaded_files (
    source varchar not null,
    stream varchar not null,
    path varchar not null,
    size_bytes bigint not null,
    sha256 varchar not null,
    run_id varchar not null,
    loaded_at timestamp not null,      -- UTC
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    modified_at timestamp              -- the file's modification time when loaded (UTC)
);
-- Warehouses made before modified_at: their files are hashed on the next run,
-- which records it.
alter table _meta.loaded_files add column if not exists modified_at timestamp;

-- Rows that came in but could not be loaded, with the reason. Nothing is
-- dropped silently: rows_read = rows_loaded + rows_quarantined for every file.
create table if not exists _meta.quarantine (
    source varchar not null,
    stream varchar not null,
    origin varchar not null,           -- file path (or API page)
    line bigint,                       -- line or record number in the origin
    record varchar,                    -- the raw record as it came in
    reason varchar not null,
    run_id varchar not null,
    quarantined_at timestamp not null  -- UTC
);

-- Where each incremental (database or API) stream stopped: the cursor of the
-- last row loaded and its key, committed in the same transaction as the rows.
create table if not exists _meta.stream_state (
    source varchar not null,
    stream varchar not null,
    cursor_value varchar,              -- the source's text form of the cursor column
    cursor_key varchar,                -- primary key of the last row, to break ties
    rows_loaded bigint not null,       -- over all runs since the last full refresh
    run_id varchar not null,
    updated_at timestamp not null      -- UTC
);

-- What each dbt node of a transform did (models, seeds, data and unit tests),
-- from dbt's run_results.json, so the report's Data health page can show
-- the test results of the build it was made from.
create table if not exists _meta.dbt_results (
    run_id varchar not null,
    unique_id varchar not null,        -- e.g. test.tango.unique_dim_customers_customer_id.1a2b3c
    resource_type varchar not null,    -- model | seed | test | unit_test | ...
    name varchar not null,
    status varchar not null,           -- success | pass | warn | fail | error | skipped
    failures bigint,                   -- failing rows of a test
    message varchar,
    seconds double,
    recorded_at timestamp not null     -- UTC
);
