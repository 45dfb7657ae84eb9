select * from reports.rpt_cohort_kpis
