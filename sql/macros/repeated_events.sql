{#- Late or re-sent files can bring an event in more than once. The copy that
    counts is its first load, then the first file and line of that load, so
    the pick is the same on every build. Ordering every event to find the few
    repeated ones would sort tens of millions of rows; instead the repeated
    keys are listed once (first_copies_of_repeated_keys) and the other copies
    dropped with a join (without_later_copies). The relations are raw tables,
    with the loader's _loaded_at, _origin and _line. -#}

{% macro first_copies_of_repeated_keys(relation, key) -%}
    select {{ key }}, _loaded_at, _origin, _line
    from {{ relation }}
    where {{ key }} in (
        select {{ key }} from {{ relation }} group by {{ key }} having count(*) > 1
    )
    qualify row_number() over (partition by {{ key }} order by _loaded_at, _origin, _line) = 1
{%- endmacro %}

{% macro without_later_copies(relation, first_copies, key) -%}
    select copies.*
    from {{ relation }} as copies
    left join {{ first_copies }} as first_copies
        on copies.{{ key }} = first_copies.{{ key }}
    where
        first_copies.{{ key }} is null
        or (
            copies._loaded_at = first_copies._loaded_at
            and copies._origin = first_copies._origin
            and copies._line is not distinct from first_copies._line
        )
{%- endmacro %}

{#- The copy that counts of each event of a raw event table, for an
    incremental model (delete+insert on `key`) that keeps the raw load time
    as `loaded_at`. A full build reads every event. An incremental build
    reads only the copies loaded since the last build, of the keys with no
    earlier copy in the raw table: a new event, or one whose stream merges
    (the raw table keeps only the latest copy, which replaces the stored).
    A key with an earlier copy is left out: that copy was there at the last
    build and came first, so the stored row is already the one that counts
    (a late re-send changes nothing). Only the key and load time of the
    earlier events are read, not the whole events. -#}
{% macro current_first_copies(relation, key) -%}
    {#- `relation` is read directly, not as a CTE of the caller: one read
        twice would be materialized first, every column of every event. -#}
    {%- set candidates = relation -%}
    with

    {% if is_incremental() -%}
    loaded_since as (
        select * from {{ relation }}
        where {{ loaded_since_last_build('_loaded_at', 'loaded_at') }}
    ),

    keys_loaded_before as (
        select {{ key }} from {{ relation }}
        where
            not ({{ loaded_since_last_build('_loaded_at', 'loaded_at') }})
            and {{ key }} in (select {{ key }} from loaded_since)
    ),

    candidates as (
        select * from loaded_since
        where not exists (
            select 1 from keys_loaded_before
            where keys_loaded_before.{{ key }} = loaded_since.{{ key }}
        )
    ),
    {%- set candidates = 'candidates' -%}
    {%- endif %}

    first_copies as (
        {{ first_copies_of_repeated_keys(candidates, key) }}
    )

    {{ without_later_copies(candidates, 'first_copies', key) }}
{%- endmacro %}

{#- A pre-hook for a model built incrementally from raw events: a full
    refresh of the raw stream loads every event again, which moves its
    earliest load time; then the model is emptied, and the build reads
    every event. `built_loaded_at`: the model's column that holds the
    earliest load time of what it read. -#}
{% macro empty_when_source_reloaded(source_relation, built_loaded_at) -%}
    {% if is_incremental() -%}
    delete from {{ this }}
    where (select min(_loaded_at) from {{ source_relation }}) is distinct from (select min({{ built_loaded_at }}) from {{ this }})
    {%- endif %}
{%- endmacro %}
