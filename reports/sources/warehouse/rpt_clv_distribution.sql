select * from reports.rpt_clv_distribution
