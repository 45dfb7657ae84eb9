select * from reports.rpt_strategy_summary
