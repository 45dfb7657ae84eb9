select * from reports.rpt_support_monthly
