select * from reports.rpt_definitions
