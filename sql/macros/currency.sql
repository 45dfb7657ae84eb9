{#- Amounts in another currency are converted with seeds/currency_rates.csv.
    A model selects reporting_currency_rate(...) from its rows joined as
    join_reporting_currency(...) says; the rate is 1 for the reporting
    currency itself and null for a currency the seed lacks, which the
    model's tests report. `settings` and `currency_rates` are the model's
    CTEs of int_reporting_settings and the seed. -#}
{% macro reporting_currency_rate(currency_code) -%}
    case
        when {{ currency_code }} = settings.reporting_currency then 1.0
        else currency_rates.rate
    end
{%- endmacro %}

{% macro join_reporting_currency(currency_code) -%}
    cross join settings
    left join currency_rates
        on {{ currency_code }} = currency_rates.currency_code
        and settings.reporting_currency = currency_rates.reporting_currency
{%- endmacro %}
