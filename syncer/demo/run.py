"""``syncer demo``: the whole of syncer on an embedded default, with no set-up at all.

It starts the simulator in-process on a free loopback port, creates a SQLite database in a
working folder, migrates it, fills a believable desired state, shows the plan, applies it (the
real ``apply_firm``, progress bars and all), edits a few rows, shows the next plan and writes it as
HTML. Nothing here re-implements a step: the demo only wires the real pieces together, so what a
new user sees is what a cron run does.

The demo ignores ``SYNCER_*`` environment variables and ``--config``: a demo that picked up a
production ``SYNCER_DATABASE__URL`` from the user's shell could write into it.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus
from pydantic import SecretStr
from rich.console import Console

from syncer.demo.data import DEFAULT_SEED, SIZES, DemoData, Edit, Size, generate, mutate
from syncer.demo.store import replace_desired, seed_cloud
from syncer.metrics import read_run_metrics, write_metrics
from syncer.plan import Action, Change, Plan
from syncer.progress import quiet
from syncer.report import change_lines, print_text, render_html, summary_table
from syncer.settings import CloudSettings, DatabaseSettings, LogSettings, Settings
from syncer.simulator import ClientSpec, Limits, RunningSimulator, SimulatorConfig, serve_simulator
from syncer.store import create_engine
from syncer.store.schema import upgrade
from syncer.usecases import ApplyOptions, apply_firm, plan_firm

FIRM = "brightwater"
DEMO_LIMITS = Limits(replenish_rate=100, burst_capacity=200)
"""Realistic in kind (a Spring token bucket, every header), quick in size: a small demo applies
in seconds. The real API's limits are not public; syncer learns them from the headers anyway."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    size: Size = Size.SMALL
    workdir: Path = Path("syncer-demo")
    keep: bool = False
    seed: int = DEFAULT_SEED


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Where the demo leaves things for the user to look at."""

    database: Path
    config: Path
    secret: Path
    first_plan_html: Path
    second_plan_html: Path
    metrics: Path

    @classmethod
    def under(cls, workdir: Path) -> DemoFiles:
        return cls(
            database=workdir / "syncer.db",
            config=workdir / "syncer.toml",
            secret=workdir / "client-secret",
            first_plan_html=workdir / "plan-1.html",
            second_plan_html=workdir / "plan-2.html",
            metrics=workdir / "metrics.prom",
        )

    def fresh(self) -> None:
        """Remove what an earlier demo left, so every demo starts from an empty database."""
        self.database.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)


def demo_settings(files: DemoFiles, running: RunningSimulator) -> Settings:
    """The settings of the demo firm, built without reading the environment (see module doc)."""
    return Settings.model_construct(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{files.database.resolve()}"),
        cloud=CloudSettings(
            firm=running.firm,
            base_url=running.base_url,
            client_id=running.client_id,
            client_secret=SecretStr(running.client_secret),
        ),
        logging=LogSettings(level="warning"),
    )


def write_config(files: DemoFiles, settings: Settings, secret: str) -> None:
    """A configuration file other commands can use against a ``--keep`` simulator.

    The secret goes to a file readable only by the user, never into the configuration itself.
    """
    files.secret.write_text(secret + "\n", encoding="utf-8")
    files.secret.chmod(0o600)
    files.config.write_text(
        "# Written by `syncer demo`; usable while `syncer demo --keep` is running.\n"
        "[database]\n"
        f'url = "{settings.database.url}"\n\n'
        "[cloud]\n"
        f'firm = "{settings.cloud.firm}"\n'
        f'base_url = "{settings.cloud.base_url}"\n'
        f'client_id = "{settings.cloud.client_id}"\n'
        f'client_secret_file = "{files.secret.resolve()}"\n',
        encoding="utf-8",
    )


async def run_demo(
    options: DemoOptions,
    out: Console | None = None,
    *,
    task_status: TaskStatus[RunningSimulator] = TASK_STATUS_IGNORED,
) -> int:
    """Run the demo; returns the exit code of its apply (0 when everything went through).

    With ``keep`` the simulator serves until Ctrl-C (or SIGTERM, or cancellation). Started with
    ``task_group.start(run_demo, options)``, it reports the running simulator once the demo has
    finished and the simulator is left for exploring.
    """
    say = out or Console()
    files = DemoFiles.under(options.workdir)
    files.fresh()
    data = generate(options.size, options.seed)
    spec = SIZES[options.size]
    say.rule(f"[bold]syncer demo[/]: the firm {FIRM!r}, size {options.size}")
    config = SimulatorConfig(firm=FIRM, clients=(ClientSpec(),), limits=DEMO_LIMITS)
    async with serve_simulator(config) as running:
        prior = seed_cloud(running.control, data.seed_objects)
        say.print(
            f"1. Simulated Caseware Cloud at {running.base_url} (rate limit "
            f"{DEMO_LIMITS.replenish_rate}/s, burst {DEMO_LIMITS.burst_capacity}: realistic but "
            f"quick).\n   It already holds {prior} objects someone created by hand; syncer adopts "
            "those that desired state lists by key and leaves the rest alone."
        )
        settings = demo_settings(files, running)
        write_config(files, settings, running.client_secret)
        await _fill(settings, data)
        say.print(
            f"2. Desired state in {files.database} (SQLite, migrated): {spec.clients:,} clients, "
            f"{data.count('users')} users, {data.count('groups')} groups, "
            f"{data.count('group_members')} memberships, {data.count('user_roles')} roles."
        )
        first = await _plan(settings)
        files.first_plan_html.write_text(render_html(first), encoding="utf-8")
        say.print("3. The plan (a dry run: nothing has been sent yet):")
        _show_summary(say, first, files.first_plan_html)

        say.print("4. Applying it through one shared, self-tuning rate limiter:")
        result = await apply_firm(settings, ApplyOptions())
        code = await _report_run(say, settings, result.run_id, result.exit_code, files)

        changed, edits = mutate(data)
        await _fill(settings, changed, migrate=False)
        _show_edits(say, edits)
        second = await _plan(settings)
        files.second_plan_html.write_text(render_html(second), encoding="utf-8")
        say.print("6. The next plan: only what changed, and the invalid row that is never sent:")
        print_text(second, say)

        _show_files(say, files)
        if options.keep:
            _explain_keep(say, running, files)
            task_status.started(running)
            await _until_stopped()
            say.print("Simulator stopped.")
    return code


async def _fill(settings: Settings, data: DemoData, *, migrate: bool = True) -> None:
    if migrate:
        await upgrade(settings.database.url)
    engine = create_engine(settings.database.url)
    try:
        await replace_desired(engine, data.rows)
    finally:
        await engine.dispose()


async def _plan(settings: Settings) -> Plan:
    return (await plan_firm(settings, progress=quiet)).plan


SAMPLE_PER_KIND = 2
"""How many changes per kind of the (long) first plan the demo prints; the HTML has them all."""


def sample(plan: Plan) -> list[Change]:
    """A few changes of each kind, updates of pre-existing objects first (they are the
    interesting ones: syncer found an object it did not create and will correct it)."""
    by_kind: dict[str, list[Change]] = {}
    for change in sorted(plan.changes, key=lambda c: c.action is not Action.UPDATE):
        chosen = by_kind.setdefault(change.kind, [])
        if len(chosen) < SAMPLE_PER_KIND:
            chosen.append(change)
    return [change for changes in by_kind.values() for change in changes]


def _show_summary(say: Console, plan: Plan, html: Path) -> None:
    say.print(summary_table(plan))
    shown = sample(plan)
    for change in shown:
        for line in change_lines(change):
            say.print(line)
    hidden = len(plan.changes) - len(shown)
    if hidden > 0:
        say.print(f"    ... and {hidden:,} more changes: see {html}", markup=False)


async def _report_run(
    say: Console, settings: Settings, run_id: int, exit_code: int, files: DemoFiles
) -> int:
    """Say what the run did, from its ``syncer_runs`` row, and write it as a metrics file."""
    engine = create_engine(settings.database.url)
    try:
        metrics = await read_run_metrics(engine, [run_id])
    finally:
        await engine.dispose()
    write_metrics(files.metrics, metrics)
    (run,) = metrics
    done = sum(n for (_, _, result), n in run.changes.items() if result == "done")
    rate = f"{run.achieved_rate:.0f}/s" if run.achieved_rate else "n/a"
    learned = f"{run.learned_rate:.0f}/s" if run.learned_rate else "n/a"
    say.print(
        f"   {done:,} changes done in {run.duration_seconds:.1f} s with {run.requests:,} requests "
        f"({run.throttled} refused with 429; assignments travel in batches). Achieved {rate} "
        f"against a learned rate of {learned}: a full bucket's burst comes on top of the rate. "
        f"Exit code {exit_code}."
    )
    return exit_code


def _show_edits(say: Console, edits: tuple[Edit, ...]) -> None:
    say.print("5. Meanwhile, in the practice-management system:")
    for edit in edits:
        say.print(f"   - {edit.kind} {edit.key}: {edit.description}", markup=False)


def _show_files(say: Console, files: DemoFiles) -> None:
    say.rule("Done")
    say.print(
        f"HTML report of the next plan: {files.second_plan_html.resolve()}\n"
        f"HTML report of the first plan: {files.first_plan_html.resolve()}\n"
        f"Database (desired state, run history, journal): {files.database.resolve()}\n"
        f"Metrics of the apply run (Prometheus text format): {files.metrics.resolve()}",
        markup=False,
        highlight=False,
    )


async def _until_stopped() -> None:
    """Wait for Ctrl-C (or SIGTERM): for a kept demo that is the normal end, not an error."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


def _explain_keep(say: Console, running: RunningSimulator, files: DemoFiles) -> None:
    say.print(
        f"\nThe simulator keeps running at {running.base_url} (firm {running.firm!r}, client id "
        f"{running.client_id}, secret in {files.secret}). Try, in another shell:\n"
        f"  syncer --config {files.config} plan --format html --out plan.html\n"
        f"  syncer --config {files.config} apply\n"
        f"  syncer --config {files.config} runs\n"
        "Press Ctrl-C to stop it.",
        markup=False,
        highlight=False,
    )
