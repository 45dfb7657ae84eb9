select * from reports.rpt_customer_activity_monthly
