select * from reports.rpt_survival_curve
