-- Marketing spend per month, channel and purpose, in the reporting currency
-- (seeds/currency_rates.csv, as fct_orders converts: sql/macros/currency.sql).
with

spend as (
    select * from {{ ref('stg_crm__marketing_spend') }}
),

settings as (
    select * from {{ ref('int_reporting_settings') }}
),

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

converted as (
    select
        spend.spend_month,
        spend.channel,
        spend.purpose,
        spend.currency_code,
        spend.amount,
        {{ reporting_currency_rate('spend.currency_code') }} as fx_rate,
        settings.reporting_currency
    from spend
    {{ join_reporting_currency('spend.currency_code') }}
),

final as (
    select
        {{ month_label('spend_month') }} || '/' || channel || '/' || purpose as marketing_spend_id,
        spend_month,
        channel,
        purpose,
        -- Rows whose channels differ only in case are one channel here;
        -- money stays DECIMAL (exact sums).
        sum(cast(round(amount * fx_rate, 2) as decimal(18, 2))) as spend,
        bool_and(fx_rate is not null) as has_fx_rate,
        any_value(reporting_currency) as reporting_currency
    from converted
    group by spend_month, channel, purpose
)

select * from final
