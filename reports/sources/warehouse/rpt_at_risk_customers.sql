select * from reports.rpt_at_risk_customers
