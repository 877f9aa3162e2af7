"""Reliability and security suites: faults survived, bad input refused, nothing lost, nothing leaked."""
