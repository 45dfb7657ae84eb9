-- Weekly acquisition cohorts (weeks start on Monday): one row per cohort week
-- per week since the first paid order. See macro cohort_retention.
{{ cohort_retention('week') }}
