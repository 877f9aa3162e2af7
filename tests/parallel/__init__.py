"""Ingesting over worker processes and in spans of days: the same files as one process, one request a day."""
