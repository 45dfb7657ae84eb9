select * from reports.rpt_rfm_grid
