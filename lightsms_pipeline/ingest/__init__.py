"""The ingestion engine, no Dagster: days, spans, windows, resume, one scheduler."""
