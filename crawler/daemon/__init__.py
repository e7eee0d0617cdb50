"""The crawler daemon (`cds-crawler run`): polls due targets on a persisted schedule, with
leases so that several workers can share one Postgres database."""
