-- Monthly acquisition cohorts: one row per cohort month per month since the
-- first paid order. See macro cohort_retention for every column's rule.
{{ cohort_retention('month') }}
