"""The scheduler: dependency order, parallelism bounded by workers, skips, and stop."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from syncer.apply.scheduler import Job, Scheduler

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.skipped: list[str] = []
        self.running = 0
        self.peak = 0
        self.two_started = anyio.Event()

    def job(
        self,
        name: str,
        *,
        ok: bool = True,
        requires: frozenset[str] = frozenset(),
        provides: frozenset[str] = frozenset(),
        gate: anyio.Event | None = None,
    ) -> Job:
        async def run() -> bool:
            self.started.append(name)
            if len(self.started) == 2:
                self.two_started.set()
            self.running += 1
            self.peak = max(self.peak, self.running)
            if gate is not None:
                await gate.wait()
            await anyio.lowlevel.checkpoint()
            self.running -= 1
            self.finished.append(name)
            return ok

        async def skip() -> None:
            self.skipped.append(name)

        return Job(run, skip, requires, provides)


async def test_a_job_runs_only_after_every_provider_of_what_it_requires() -> None:
    rec = Recorder()
    jobs = [
        rec.job("link", requires=frozenset({"user", "group"})),
        rec.job("user", provides=frozenset({"user"})),
        rec.job("group", provides=frozenset({"group"})),
        rec.job("other"),
    ]
    await Scheduler(workers=4).run(jobs)
    assert rec.finished.index("link") > max(rec.finished.index("user"), rec.finished.index("group"))
    assert sorted(rec.finished) == ["group", "link", "other", "user"]


async def test_a_failed_provider_skips_its_dependents_transitively() -> None:
    rec = Recorder()
    jobs = [
        rec.job("create", ok=False, provides=frozenset({"a"})),
        rec.job("link", requires=frozenset({"a"}), provides=frozenset({"b"})),
        rec.job("after-link", requires=frozenset({"b"})),
        rec.job("independent"),
    ]
    await Scheduler(workers=2).run(jobs)
    assert rec.skipped == ["link", "after-link"]
    assert sorted(rec.finished) == ["create", "independent"]


async def test_in_flight_work_never_exceeds_the_worker_count() -> None:
    rec = Recorder()
    await Scheduler(workers=3).run([rec.job(f"j{i}") for i in range(30)])
    assert len(rec.finished) == 30
    assert rec.peak == 3


async def test_stop_takes_no_new_work_but_lets_running_jobs_finish() -> None:
    rec = Recorder()
    gate = anyio.Event()
    jobs = [rec.job(f"slow{i}", gate=gate) for i in range(2)] + [rec.job(f"j{i}") for i in range(5)]
    scheduler = Scheduler(workers=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(scheduler.run, jobs)
        await rec.two_started.wait()
        scheduler.stop()
        gate.set()
    assert sorted(rec.finished) == ["slow0", "slow1"]
    assert rec.skipped == []


async def test_no_jobs_returns_at_once() -> None:
    await Scheduler(workers=1).run([])


async def test_jobs_in_flight_follow_the_target_mid_run_within_the_worker_cap() -> None:
    """The target is asked before each job: raised, more jobs run at once; lowered, fewer; and
    never more than ``workers``, whatever the target says."""
    target = 2
    peaks: list[int] = []
    running = 0

    def job() -> Job:
        async def run() -> bool:
            nonlocal running
            nonlocal target
            running += 1
            peaks.append(running)
            target = {10: 6, 20: 1000, 30: 1}.get(len(peaks), target)
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            running -= 1
            return True

        async def skip() -> None:
            raise AssertionError("nothing is skipped")

        return Job(run, skip)

    await Scheduler(workers=8, target=lambda: target).run([job() for _ in range(44)])
    assert len(peaks) == 44
    assert max(peaks[:10]) == 2
    assert 2 < max(peaks[10:20]) <= 6
    assert max(peaks[20:30]) == 8
    assert peaks[-3:] == [1, 1, 1]


async def test_worker_tasks_are_started_as_jobs_need_them_not_up_to_the_cap() -> None:
    """A run of a few jobs, or one held to a low target, starts few tasks however high the cap
    (``max_in_flight`` is 256 by default, and a worker process runs many firms' runs at once)."""
    rec = Recorder()
    few = Scheduler(workers=256)
    await few.run([rec.job(f"j{i}") for i in range(5)])
    held = Scheduler(workers=256, target=lambda: 2)
    await held.run([rec.job(f"k{i}") for i in range(30)])
    empty = Scheduler(workers=256)
    await empty.run([])
    assert len(rec.finished) == 35
    assert few.workers_started <= 5
    assert held.workers_started == 2
    assert empty.workers_started == 0


async def test_the_target_is_asked_once_per_job_run_not_again_per_job_made_ready_at_start() -> None:
    """The client works its target out from the limiter's figures (``write_target``): a plan's
    thousands of first jobs get their workers from one answer, then each job asks once."""
    rec = Recorder()
    asked = 0

    def target() -> int:
        nonlocal asked
        asked += 1
        return 4

    scheduler = Scheduler(workers=256, target=target)
    await scheduler.run([rec.job(f"j{i}") for i in range(100)])
    assert len(rec.finished) == 100
    assert scheduler.workers_started == 4
    assert asked == 100 + 1


async def test_a_scheduler_stopped_before_it_runs_starts_no_job() -> None:
    rec = Recorder()
    scheduler = Scheduler(workers=4)
    scheduler.stop()
    await scheduler.run([rec.job(f"j{i}") for i in range(10)])
    assert rec.started == []
    assert scheduler.workers_started == 0
