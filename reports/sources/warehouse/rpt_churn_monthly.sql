select * from reports.rpt_churn_monthly
