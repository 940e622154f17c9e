"""``--metrics-file``: the Prometheus text file node_exporter's textfile collector reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer.metrics import RunMetrics, read_run_metrics, write_metrics
from syncer.store.db import create_engine
from syncer.store.tables import runs

ACME = RunMetrics(
    firm="acme",
    command="apply",
    exit_code=3,
    started_at=1_700_000_000.0,
    finished_at=1_700_000_042.5,
    changes={
        ("entities", "create", "done"): 290,
        ("entities", "create", "rejected"): 2,
        ("group_members", "add", "done"): 41,
    },
    requests=371,
    throttled=1,
    unauthorized=2,
    learned_rate=10.0,
    achieved_rate=9.8,
    latency={"entities": {"smoothed_ms": 251.5, "p90_ms": 312.0, "samples": 360}},
    pages_past_end=7,
)
BETA = RunMetrics(
    firm="beta",
    command="apply",
    exit_code=0,
    started_at=1_700_000_000.0,
    finished_at=1_700_000_001.0,
)


def samples(path: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the file, keyed by name and label set, parsed by Prometheus's own parser."""
    text = path.read_text(encoding="utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def test_the_file_holds_every_figure_of_every_firm(tmp_path: Path) -> None:
    path = tmp_path / "textfile" / "syncer.prom"
    write_metrics(path, [ACME, BETA])
    got = samples(path)
    acme = labels(firm="acme", command="apply")

    changes = labels(firm="acme", command="apply", kind="entities", action="create")
    assert got["syncer_last_run_changes", changes | {("result", "done")}] == 290
    assert got["syncer_last_run_changes", changes | {("result", "rejected")}] == 2
    assert got["syncer_last_run_requests", acme] == 371
    assert got["syncer_last_run_throttled_responses", acme] == 1
    assert got["syncer_last_run_unauthorized_responses", acme] == 2
    assert got["syncer_last_run_duration_seconds", acme] == 42.5
    assert got["syncer_last_run_learned_rate_per_second", acme] == 10.0
    assert got["syncer_last_run_achieved_rate_per_second", acme] == 9.8
    assert got["syncer_last_run_timestamp_seconds", acme] == 1_700_000_042.5
    assert got["syncer_last_run_exit_code", acme] == 3
    assert got["syncer_last_run_pages_past_end", acme] == 7
    entities = acme | {("family", "entities")}
    assert got["syncer_last_run_latency_seconds", entities | {("estimate", "smoothed")}] == 0.2515
    assert got["syncer_last_run_latency_seconds", entities | {("estimate", "p90")}] == 0.312

    beta = labels(firm="beta", command="apply")
    assert got["syncer_last_run_exit_code", beta] == 0
    assert ("syncer_last_run_learned_rate_per_second", beta) not in got  # unknown, not zero
    assert ("syncer_last_run_pages_past_end", beta) not in got


def test_a_rewrite_replaces_the_previous_run_atomically(tmp_path: Path) -> None:
    path = tmp_path / "syncer.prom"
    write_metrics(path, [ACME])
    write_metrics(path, [BETA])
    firms = {dict(key[1]).get("firm") for key in samples(path)}
    assert firms == {"beta"}
    assert [p.name for p in tmp_path.iterdir()] == ["syncer.prom"]  # no temporary file left


@pytest.mark.anyio
async def test_metrics_can_be_read_from_syncer_runs_rows(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url)
    try:
        async with engine.begin() as conn:
            inserted = await conn.execute(
                runs.insert().values(
                    firm="acme",
                    command="apply",
                    started_at=datetime(2026, 1, 1, 2, 0, 0, tzinfo=UTC),
                    finished_at=datetime(2026, 1, 1, 2, 0, 30, tzinfo=UTC),
                    status="rejected",
                    exit_code=3,
                    counts={"users": {"update": {"done": 4, "rejected": 1}}},
                    requests=12,
                    throttled=0,
                    unauthorized=1,
                    learned_rate=50.0,
                    achieved_rate=None,
                    latency={"users": {"smoothed_ms": 80.0, "p90_ms": 120.0, "samples": 12}},
                    pages_past_end=3,
                )
            )
            run_id = inserted.inserted_primary_key[0]
        (metrics,) = await read_run_metrics(engine, [run_id])
    finally:
        await engine.dispose()

    assert metrics.changes == {("users", "update", "done"): 4, ("users", "update", "rejected"): 1}
    assert metrics.duration_seconds == 30.0
    assert metrics.finished_at == datetime(2026, 1, 1, 2, 0, 30, tzinfo=UTC).timestamp()
    assert (metrics.exit_code, metrics.requests, metrics.unauthorized) == (3, 12, 1)
    assert metrics.learned_rate == 50.0
    assert metrics.achieved_rate is None
    assert metrics.latency == {"users": {"smoothed_ms": 80.0, "p90_ms": 120.0, "samples": 12}}
    assert metrics.pages_past_end == 3
