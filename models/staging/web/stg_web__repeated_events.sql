-- One row per event id loaded more than once (a late or re-sent file), with
-- the copy that counts. A table, built once per transform, so that
-- stg_web__events drops the other copies with a join on every read.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('web', 'events') }}
),

final as (
    {{ first_copies_of_repeated_keys('source', 'event_id') }}
)

select * from final
