select * from health.stream_loads
