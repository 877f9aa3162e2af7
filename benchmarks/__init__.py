"""Benchmarks of lightsms-pipeline (`make bench`): backfill, normalization, downstream scaling."""
