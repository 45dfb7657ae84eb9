select * from reports.rpt_stage_flows
