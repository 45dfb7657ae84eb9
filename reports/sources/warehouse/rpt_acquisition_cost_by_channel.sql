select * from reports.rpt_acquisition_cost_by_channel
