-- Monthly cohorts broken down by first-touch channel, country and whether
-- the customer was referred: one row per breakdown, value, cohort month and
-- month since the first paid order. See macro cohort_retention.
{{ cohort_retention('month', ['acquisition_channel', 'country_code', 'is_referred']) }}
