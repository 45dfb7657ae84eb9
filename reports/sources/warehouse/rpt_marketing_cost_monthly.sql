select * from reports.rpt_marketing_cost_monthly
