select * from reports.rpt_segment_summary
