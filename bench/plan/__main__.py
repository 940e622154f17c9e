"""``python -m bench.plan [--quick] [--sizes N ...] [--out FILE]``: planning speed and memory.

For each size it builds a synthetic firm (``scenario.py``), times ``build_plan`` once, runs it
again under tracemalloc for the peak memory of planning alone (the inputs are allocated before
tracing starts), and times the naive baseline on a sample of rows, extrapolated to the full
size. Prints a markdown table; ``--out`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.plan.naive import seconds_per_row
from bench.plan.scenario import MIRROR, Scenario, build
from syncer.plan import build_plan

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FULL = (10_000, 100_000, 1_000_000)
QUICK = (10_000,)
NAIVE_BUDGET = 4_000_000
"""Row comparisons the naive baseline may spend per size: its sample is budget / Cloud size."""


def plan_once(scenario: Scenario) -> float:
    gc.collect()
    started = time.perf_counter()
    build_plan(scenario.desired, scenario.cloud, scenario.owned, MIRROR, firm="bench", now=NOW)
    return time.perf_counter() - started


def peak_bytes(scenario: Scenario) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        build_plan(scenario.desired, scenario.cloud, scenario.owned, MIRROR, firm="bench", now=NOW)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def naive_rows_per_second(scenario: Scenario) -> tuple[float, int]:
    """Baseline rate over entities and users (the object rows), and the sample size used."""
    total_seconds = 0.0
    total_rows = 0
    sample = 0
    for kind in ("entities", "users"):
        rows = scenario.desired.objects[kind]
        cloud = scenario.cloud.objects[kind]
        sample = max(3, NAIVE_BUDGET // max(1, len(cloud)))
        total_seconds += seconds_per_row(rows, cloud, kind, sample) * len(rows)
        total_rows += len(rows)
    return total_rows / total_seconds, sample


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plan", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k rows only")
    parser.add_argument("--sizes", type=int, nargs="+", help="desired-row counts to plan")
    parser.add_argument("--out", type=Path, help="also write the markdown table to this file")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK if args.quick else FULL)
    lines = [
        f"Planner benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at start (the machine is shared; figures are one run each).",
        "",
        "| desired rows | Cloud objects | plan time (s) | rows/s | peak memory (MB) | bytes/row "
        "| naive rows/s (sample, extrapolated) | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for size in sizes:
        scenario = build(size)
        cloud_objects = sum(len(objs) for objs in scenario.cloud.objects.values())
        seconds = plan_once(scenario)
        peak = peak_bytes(scenario)
        naive_rate, sample = naive_rows_per_second(scenario)
        rate = size / seconds
        line = (
            f"| {size:,} | {cloud_objects:,} | {seconds:.2f} | {rate:,.0f} | {peak / 1e6:,.1f} "
            f"| {peak / size:,.0f} | {naive_rate:,.0f} ({sample} rows/kind) "
            f"| {rate / naive_rate:,.0f}x |"
        )
        lines.append(line)
        print(line, flush=True)
        del scenario
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
