select * from reports.rpt_thresholds
