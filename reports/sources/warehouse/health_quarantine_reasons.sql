select * from health.quarantine_reasons
