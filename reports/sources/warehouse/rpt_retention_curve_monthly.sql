select * from reports.rpt_retention_curve_monthly
