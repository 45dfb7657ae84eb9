select * from reports.rpt_retention_value
