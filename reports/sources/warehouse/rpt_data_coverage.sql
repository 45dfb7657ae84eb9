select * from reports.rpt_data_coverage
