select * from reports.rpt_customer_list_counts
