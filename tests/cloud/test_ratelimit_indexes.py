"""The limiter's kept indexes against the searches they stand for: the same answers on any
history (the bisections and monotonic queues exist to save CPU, never to change a decision)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from operator import attrgetter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.cloud.ratelimit import SHARED
from syncer.cloud.ratelimit.bucket import Bucket, Observation
from syncer.cloud.ratelimit.pacing import Pacer
from syncer.cloud.ratelimit.readings import Lowest, Reading

answers = st.lists(
    st.tuples(st.sampled_from([0.0, 0.001, 0.01, 0.3]), st.floats(0.0, 1.5), st.integers(1, 3)),
    min_size=70,
    max_size=150,
)
"""(gap since the previous answer, round trip, cost): ties in arrival included, and more answers
than are kept (so that the shortest and longest round trips leave the window)."""

SHARED_MACHINE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""No timing checks: a history of 70-150 answers takes ~0.1 s to draw, and on a loaded machine
(the suite runs beside others on two cores) Hypothesis' health check and 200 ms deadline failed
the run though every example held."""


@SHARED_MACHINE
@given(answers)
def test_recent_answers_and_round_trips_are_what_a_search_of_them_finds(
    steps: list[tuple[float, float, int]],
) -> None:
    bucket = Bucket(SHARED)
    recv = 10.0
    for gap, trip, cost in steps:
        recv += gap
        bucket.recent.remember(Observation(recv - trip, recv, 0, 0, cost=cost))
        trips = [seen.recv - seen.sent for seen in bucket.recent]
        assert bucket.recent.round_trips() == (min(trips), max(trips))
        for after, until in [(recv - trip, recv - gap), (recv - 0.01, recv), (-math.inf, recv)]:
            found = list(bucket.recent.within(after, until))
            assert found == [seen for seen in bucket.recent if after < seen.recv <= until]


def walked_ours_by(pacer: Pacer, moment: float) -> float:
    """``Pacer.ours_by`` as it was before it skipped the grants sent after the window."""
    width = max(pacer.spread, pacer.tuning.min_sleep)
    early = moment - pacer.offset - width / 2
    handled = 0.0
    for sent, cost, before in reversed(pacer.sends):
        if sent <= early:
            return before + cost + handled
        handled += cost * min(1.0, max(0.0, (early + width - sent) / width))
    return handled + (pacer.sends[0][2] if pacer.sends else 0.0)


@SHARED_MACHINE
@given(
    st.lists(st.tuples(st.sampled_from([0.0, 0.0007, 0.003]), st.integers(1, 3)), max_size=300),
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.2),
    st.floats(-0.1, 1.0),
)
def test_our_handled_grants_are_what_the_walk_through_every_grant_counted(
    grants: list[tuple[float, int]], spread: float, offset: float, back: float
) -> None:
    pacer = Pacer(spread=spread, offset=offset)
    now = 5.0
    for gap, cost in grants:
        now += gap
        pacer.take(cost, now)
    moment = now - back
    assert pacer.ours_by(moment) == walked_ours_by(pacer, moment)


def a_window_before(reading: Reading, window: float) -> Callable[[Reading], bool]:
    return lambda earlier: reading.handled - earlier.handled >= window


@SHARED_MACHINE
@given(
    st.lists(st.tuples(st.floats(-0.3, 0.3), st.integers(0, 20)), min_size=1, max_size=120),
    st.floats(0.05, 2.0),
    st.integers(5, 60),
)
def test_the_base_and_lowest_remaining_are_what_a_walk_back_finds(
    steps: list[tuple[float, int]], window: float, keep: int
) -> None:
    kept: deque[Reading] = deque()
    forgotten = 0
    earliest, least = Lowest(attrgetter("handled")), Lowest(attrgetter("remaining"))
    for index, (jitter, remaining) in enumerate(steps):
        reading = Reading(index * 0.1 + jitter, remaining, 0.0)
        base = next(
            (k for k in reversed(range(len(kept))) if reading.handled - kept[k].handled >= window),
            None,
        )
        found = earliest.last_where(a_window_before(reading, window))
        if base is None:
            assert found is None
        else:
            assert found == (forgotten + base, kept[base])
            since = [later.remaining for later in list(kept)[base + 1 :]]
            lowest = least.first_from(forgotten + base + 1)
            assert (None if lowest is None else lowest.remaining) == min(since, default=None)
        number = forgotten + len(kept)
        kept.append(reading)
        earliest.add(number, reading)
        least.add(number, reading)
        while len(kept) > keep:
            kept.popleft()
            earliest.forget(forgotten)
            least.forget(forgotten)
            forgotten += 1
