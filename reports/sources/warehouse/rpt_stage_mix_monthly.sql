select * from reports.rpt_stage_mix_monthly
