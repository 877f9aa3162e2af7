"""Dagster assets, grouped by domain: thin wrappers that read, call the core, write and report."""
