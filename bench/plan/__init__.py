"""Planner benchmark: planning time and peak memory for large desired states (``python -m
bench.plan [--quick]``)."""
