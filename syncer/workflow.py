"""What ``plan``, ``apply`` and the demo share: open the database and the Cloud client, read
desired state, Cloud state and the id map, and build the plan.

Keeping these steps in one place means a dry run and a real run can never disagree about what
the plan is: both call ``compute_plan`` on a ``Session``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.progress import progress_for
from syncer.apply.times import utc_now
from syncer.children.reading import ChildReading, with_children
from syncer.clock import Clock, SystemClock
from syncer.cloud.client import CloudClient
from syncer.cloud.reader import read_cloud_state
from syncer.plan.builder import build_plan
from syncer.plan.model import Plan
from syncer.plan.policy import PlanPolicy
from syncer.settings import Settings
from syncer.state import CloudState, DesiredState, IdMap
from syncer.store.db import create_engine
from syncer.store.desired import read_desired_state
from syncer.store.idmap import read_id_map


@dataclass(frozen=True, slots=True)
class Session:
    """One firm's open resources: its settings, database engine and Cloud client."""

    settings: Settings
    engine: AsyncEngine
    client: CloudClient
    clock: Clock

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


@asynccontextmanager
async def open_session(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[Session]:
    """Open the database engine and the Cloud client; close both on the way out."""
    chosen = clock or SystemClock()
    engine = create_engine(settings.database.url)
    try:
        async with CloudClient.open(settings.cloud, clock=clock) as client:
            yield Session(settings, engine, client, chosen)
    finally:
        await engine.dispose()


async def compute_plan(
    session: Session,
    *,
    on_page: Callable[[str, int], None] | None = None,
    refresh: bool = False,
) -> Snapshot:
    """Read desired state first (cheap, and a broken database fails before any request), then
    every page of Cloud, then the id map, then the children that need reading (all of them
    with ``refresh``), and plan."""
    desired = await read_desired_state(session.engine, session.settings)
    cloud = await read_cloud_state(session.client, on_page=on_page)
    async with session.engine.connect() as conn:
        owned = await read_id_map(conn, session.firm)
    reading = ChildReading.of(
        session.engine,
        session.firm,
        session.settings.sync,
        utc_now(session.clock),
        refresh=refresh,
    )
    cloud = await with_children(reading, session.client, desired, cloud, owned, on_page=on_page)
    plan = build_plan(
        desired,
        cloud,
        owned,
        PlanPolicy.from_settings(session.settings.sync),
        firm=session.firm,
        now=utc_now(session.clock),
    )
    return Snapshot(desired, cloud, owned, plan)


async def compute_plan_showing_progress(session: Session, *, refresh: bool = False) -> Snapshot:
    """``compute_plan`` with progress on stderr while Cloud is read (bars on a terminal, JSON
    lines otherwise), as ``plan`` and ``apply`` show it."""
    with progress_for("reading cloud", session.clock, transient=True) as reading:
        return await compute_plan(session, on_page=reading.advance, refresh=refresh)
