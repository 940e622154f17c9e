"""``syncer apply [--plan FILE] [--allow-deletes] [--max-in-flight N]``: make Cloud match."""

from __future__ import annotations

import time
from pathlib import Path

import click

from syncer.apply import StopRequests, watch_stop_signals
from syncer.cli.context import current, pass_settings, run
from syncer.cli.failures import say
from syncer.errors import syncer_error_in
from syncer.firms import run_firms
from syncer.metrics import RunMetrics, read_run_metrics, write_metrics
from syncer.settings import Firm, Settings
from syncer.store import create_engine, database_errors
from syncer.usecases import ApplyOptions, apply_firm


@click.command(name="apply")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Carry out this saved plan (from `syncer plan --format json`); refused when Cloud "
    "has changed since it was made.",
)
@click.option(
    "--allow-deletes",
    is_flag=True,
    help="Release retirements the safety threshold blocked, for this run only.",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(1, 512),
    default=None,
    help="Requests in flight at once (overrides cloud.max_in_flight).",
)
@click.option("--firm", "firm_name", default=None, help="Run this firm only (of [[firms]]).")
@click.option(
    "--refresh",
    is_flag=True,
    help="Read every client's addresses again, not only those changed since last seen in step.",
)
@click.option(
    "--metrics-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the run's figures here in Prometheus text format (node_exporter textfile).",
)
@pass_settings
def command(
    settings: Settings,
    *,
    plan_file: Path | None,
    allow_deletes: bool,
    max_in_flight: int | None,
    firm_name: str | None,
    metrics_file: Path | None,
    refresh: bool,
) -> None:
    """Plan afresh (or check the saved plan) and carry it out, as fast as the rate limit allows.

    An interrupted run (killed, or stopped by rejected credentials) is resumed: nothing done is
    redone and nothing is created twice. SIGINT/SIGTERM stop taking new work and let requests in
    flight finish. Exit codes: 0 done, 3 some rows rejected, 4 stopped by a safety guard, 69 Cloud
    unreachable, 75 another run holds the lock, 77 credentials rejected.

    \b
    Examples:
      syncer apply
      syncer plan --format json --out plan.json && syncer apply --plan plan.json
    """
    options = ApplyOptions(plan_file, allow_deletes, max_in_flight, refresh)
    metrics: list[RunMetrics] = []
    json_logs = current().json_logs

    async def one(firm: Firm, stops: StopRequests) -> int:
        started = time.time()
        try:
            async with database_errors():
                result = await apply_firm(firm.settings, options, stops)
        except Exception as exc:  # a SyncerError, possibly inside a task group's group
            error = syncer_error_in(exc)
            if error is None:
                raise
            # Labelled as a successful run's metrics are: by the Cloud firm, not the section name.
            cloud_firm = firm.settings.cloud.firm
            metrics.append(
                RunMetrics(cloud_firm, "apply", int(error.exit_code), started, time.time())
            )
            raise error from None
        if result.message:
            say(result.message, result.exit_code, json_logs=json_logs)
        if metrics_file is not None:
            metrics.extend(await _run_metrics(firm.settings, result.run_id))
        return result.exit_code

    async def go() -> int:
        firms = settings.select_firms(firm_name)
        try:
            async with watch_stop_signals() as stops:
                return await run_firms(firms, lambda firm: one(firm, stops))
        finally:
            if metrics_file is not None:
                write_metrics(metrics_file, metrics)

    run(go)


async def _run_metrics(settings: Settings, run_id: int) -> list[RunMetrics]:
    engine = create_engine(settings.database.url)
    try:
        return await read_run_metrics(engine, [run_id])
    finally:
        await engine.dispose()
