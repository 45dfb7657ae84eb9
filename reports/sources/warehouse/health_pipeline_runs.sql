select * from health.pipeline_runs
