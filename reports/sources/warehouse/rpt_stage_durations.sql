select * from reports.rpt_stage_durations
