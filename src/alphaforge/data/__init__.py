"""Market data: schema, local store, ingest, quality checks, calendars, sample data, sources."""
