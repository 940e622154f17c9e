"""Benchmark of the apply engine: N creates against the simulator, syncer's client beside a
naive retry-on-429 client driving the same engine (``python -m bench.apply --help``)."""
