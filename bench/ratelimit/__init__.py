"""Benchmark: syncer's adaptive limiter against the usual alternatives, on the simulator."""
