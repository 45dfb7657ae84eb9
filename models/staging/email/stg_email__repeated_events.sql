-- One row per event id loaded more than once (a re-sent export), with
-- the copy that counts. A table, built once per transform, so that
-- stg_email__events drops the other copies with a join on every read.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('email', 'events') }}
),

final as (
    {{ first_copies_of_repeated_keys('source', 'event_id') }}
)

select * from final
