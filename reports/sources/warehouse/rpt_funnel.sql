select * from reports.rpt_funnel
