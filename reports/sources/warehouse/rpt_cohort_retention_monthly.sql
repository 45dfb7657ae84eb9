select * from reports.rpt_cohort_retention_monthly
