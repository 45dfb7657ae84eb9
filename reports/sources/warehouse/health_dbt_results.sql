select * from health.dbt_results
