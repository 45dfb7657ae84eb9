-- The Lists page's preview: the most valuable 50,000 customers. A larger list
-- is complete in the files `tango export` writes (linked from the page);
-- the page compares with rpt_customer_list_counts and says when a filter
-- selects more than the preview holds. Only the Lists page reads this.
select * from reports.rpt_customer_list
order by predicted_clv desc nulls last, net_revenue desc nulls last, customer_id
limit 50000
