select * from reports.rpt_churn_drivers
