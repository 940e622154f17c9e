"""Benchmarks: scripts that print figures beside a baseline; never asserted in the test suite."""
