"""The use cases, one way through for every command: ``plan_firm`` and ``apply_firm``.

Each opens what a firm needs (the database engine, the Cloud client, a clock), reads desired
state, Cloud state and the id map, and builds the plan; ``apply_firm`` then hands the plan to
``apply.engine.execute``, which only carries a plan out. ``syncer plan``, ``syncer apply``, the
demo and the multi-firm runner all come through here, so a dry run and a real run can never
disagree about what the plan is. Progress is passed in (``progress.ProgressFactory``); nothing
below this module imports upward to find it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply import ApplyResult, RunLock, StopRequests, execute, recover
from syncer.children.reading import ChildReading, with_children
from syncer.children.remember import RunInputs, remember_in_step
from syncer.clock import Clock, SystemClock, utc_now
from syncer.cloud import CloudClient, SharedHttp, read_cloud_state
from syncer.errors import SyncerError
from syncer.plan import Plan, PlanPolicy, build_plan, plan_from_json
from syncer.progress import ProgressFactory, progress_for
from syncer.settings import Settings
from syncer.state import CloudState, DesiredState, IdMap
from syncer.store import (
    AdvisoryLocks,
    SharedEngines,
    create_engine,
    read_connection,
    read_desired_state,
    read_id_map,
)


class StalePlan(SyncerError):
    """A saved plan no longer describes Cloud (exit 1): plan again and review the new one."""


@dataclass(frozen=True, slots=True)
class FirmResources:
    """One firm's open resources: its settings, database engine, Cloud client and clock."""

    settings: Settings
    engine: AsyncEngine
    client: CloudClient
    clock: Clock
    advisory: AdvisoryLocks | None = None
    """The session holding the run locks of a process that shares its engines; None: the run
    lock takes a connection of its own."""

    @property
    def firm(self) -> str:
        return self.settings.cloud.firm


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The inputs of a plan and the plan itself."""

    desired: DesiredState
    cloud: CloudState
    owned: IdMap
    plan: Plan


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    plan_file: Path | None = None
    allow_deletes: bool = False
    max_in_flight: int | None = None
    refresh: bool = False
    """Read every child (address) again, not only those syncer does not know to be in step."""


@asynccontextmanager
async def open_firm(
    settings: Settings,
    *,
    clock: Clock | None = None,
    shared: SharedEngines | None = None,
    http: SharedHttp | None = None,
) -> AsyncIterator[FirmResources]:
    """Open the Cloud client (on the process's ``http`` sessions, if given) and the database
    engine (or take the process's ``shared`` one); close what was opened here on the way out."""
    chosen = clock or SystemClock()
    async with AsyncExitStack() as stack:
        if shared is None:
            engine, advisory = create_engine(settings.database.url), None
            stack.push_async_callback(_dispose, engine)
        else:
            database = shared.get(settings.database.url)
            engine, advisory = database.engine, database.advisory
        client = await stack.enter_async_context(
            CloudClient.open(settings.cloud, clock=clock, http=http)
        )
        yield FirmResources(settings, engine, client, chosen, advisory)


async def _dispose(engine: AsyncEngine) -> None:
    with anyio.CancelScope(shield=True):  # closed cleanly even when the run is cancelled
        await engine.dispose()


async def read_and_plan(
    firm: FirmResources, *, progress: ProgressFactory = progress_for, refresh: bool = False
) -> Snapshot:
    """Read desired state first (cheap, and a broken database fails before any request), then
    every page of Cloud (shown as progress), then the id map, then the children that need
    reading (all of them with ``refresh``), and plan."""
    desired = await read_desired_state(firm.engine, firm.settings)
    with progress("reading cloud", firm.clock, transient=True) as reading:
        expected = {kind: len(rows) for kind, rows in desired.objects.items()}
        cloud = await read_cloud_state(firm.client, on_page=reading.advance, expected=expected)
        async with read_connection(firm.engine) as conn:
            owned = await read_id_map(conn, firm.firm)
        children = ChildReading.of(
            firm.engine, firm.firm, firm.settings.sync, utc_now(firm.clock), refresh=refresh
        )
        cloud = await with_children(
            children, firm.client, desired, cloud, owned, on_page=reading.advance
        )
    plan = build_plan(
        desired,
        cloud,
        owned,
        PlanPolicy.from_settings(firm.settings.sync),
        firm=firm.firm,
        now=utc_now(firm.clock),
    )
    return Snapshot(desired, cloud, owned, plan)


async def plan_firm(
    settings: Settings,
    *,
    progress: ProgressFactory = progress_for,
    refresh: bool = False,
    shared: SharedEngines | None = None,
    http: SharedHttp | None = None,
) -> Snapshot:
    """The whole of ``syncer plan`` for one firm: read both sides and plan; change nothing."""
    async with open_firm(settings, shared=shared, http=http) as firm:
        return await read_and_plan(firm, progress=progress, refresh=refresh)


async def apply_firm(
    settings: Settings,
    options: ApplyOptions,
    stops: StopRequests | None = None,
    *,
    progress: ProgressFactory = progress_for,
    shared: SharedEngines | None = None,
    http: SharedHttp | None = None,
) -> ApplyResult:
    """The whole of ``syncer apply`` for one firm: under the firm's lock, settle what an
    interrupted run left open, plan afresh (or check the saved plan), carry the plan out, and
    remember which parents' children are now known to be in step."""
    chosen = with_max_in_flight(settings, options.max_in_flight)
    async with (
        open_firm(chosen, shared=shared, http=http) as firm,
        RunLock(firm.engine, firm.firm, advisory=firm.advisory).hold(),
    ):
        await recover(
            firm.engine,
            firm.firm,
            firm.client,
            firm.clock,
            max_in_flight=chosen.cloud.max_in_flight,
        )
        snapshot = await read_and_plan(firm, progress=progress, refresh=options.refresh)
        plan = snapshot.plan
        if options.plan_file is not None:
            plan = saved_plan(options.plan_file, current=plan)
        result = await execute(
            plan,
            engine=firm.engine,
            client=firm.client,
            settings=firm.settings,
            clock=firm.clock,
            allow_deletes=options.allow_deletes,
            progress=progress,
            stops=stops,
        )
        inputs = RunInputs(snapshot.desired, snapshot.cloud, snapshot.plan, plan)
        await remember_in_step(firm.engine, firm.firm, result.run_id, inputs, utc_now(firm.clock))
        return result


def with_max_in_flight(settings: Settings, max_in_flight: int | None) -> Settings:
    """``--max-in-flight`` overrides ``cloud.max_in_flight`` for this run."""
    if max_in_flight is None:
        return settings
    cloud = settings.cloud.model_copy(update={"max_in_flight": max_in_flight})
    return settings.model_copy(update={"cloud": cloud})


def saved_plan(path: Path, *, current: Plan) -> Plan:
    """The reviewed plan in ``path``, if it still describes the firm's Cloud state."""
    try:
        saved = plan_from_json(path.read_bytes())
    except OSError as exc:
        raise StalePlan(f"cannot read plan file {path}: {exc.strerror}") from None
    if saved.firm != current.firm:
        raise StalePlan(f"plan file {path} is for firm {saved.firm!r}, not {current.firm!r}")
    if saved.fingerprint != current.fingerprint:
        raise StalePlan(
            f"plan file {path} is stale: Cloud has changed since it was made "
            f"({saved.created_at:%Y-%m-%d %H:%M} UTC); run `syncer plan` again and review it"
        )
    return saved
