"""``Batches`` on its own: when each refill goes on a slow wire, and how much of it.

Each test plays the answers a server would give to a batch and checks what the next batch does.
The figures: a bucket offering 20 tokens a second, requests of one token.
"""

from __future__ import annotations

import math

import pytest

from syncer.cloud.ratelimit import DEFAULT_TUNING
from syncer.cloud.ratelimit.batches import Batch, Batches
from syncer.cloud.ratelimit.circle import apart, longest_run

OFFERED = 20.0


def send(batches: Batches, now: float, count: int, level: float = OFFERED) -> list[Batch]:
    """Take ``count`` grants at ``now``; fails if the batch runs out first."""
    taken = []
    for _ in range(count):
        batch = batches.take(now, 1.0, OFFERED, level, asked=now)
        assert isinstance(batch, Batch), f"a grant at {now} had to wait {batch}"
        taken.append(batch)
    return taken


def answer(batches: Batches, grants: list[Batch], now: float, remaining: list[float]) -> None:
    """Answer the grants with these ``remaining`` values (``-1`` for a 429)."""
    for batch, left in zip(grants, remaining, strict=True):
        batches.settle(batch, now, "entities", 1.0, None if left < 0 else left, refused=left < 0)


def whole(count: int, top: float = OFFERED) -> list[float]:
    """What a batch handled within one server second shows: one value each, counting down from
    ``top`` tokens, and 429s once they are gone."""
    return [top - 1 - n if n < top else -1 for n in range(count)]


def straddling(count: int, before: int) -> list[float]:
    """A batch a boundary cut after ``before`` requests: the refill repeats the top values."""
    return whole(before) + whole(count - before)


def test_the_first_batch_spends_what_the_bucket_holds_and_the_next_waits_its_moment() -> None:
    batches = Batches()
    grants = send(batches, 10.3, 35, level=35.0)  # a burst of 35 over a refill of 20
    assert len({id(g) for g in grants}) == 1
    wait = batches.take(10.31, 1.0, OFFERED, 0.0, asked=10.31)
    assert wait == pytest.approx(1.0 - 0.01)  # the same moment of our next second


def test_requests_join_a_batch_within_its_grace_and_later_ones_wait() -> None:
    batches = Batches()
    send(batches, 5.0, 1)
    late = 5.0 + DEFAULT_TUNING.batch_grace / 2
    assert isinstance(batches.take(late, 1.0, OFFERED, OFFERED, asked=late), Batch)
    too_late = 5.0 + DEFAULT_TUNING.batch_grace * 1.5
    wait = batches.take(too_late, 1.0, OFFERED, OFFERED, asked=too_late)
    assert wait == pytest.approx(6.0 - too_late)


def test_a_request_waiting_for_a_batch_joins_it_even_when_its_turn_comes_late() -> None:
    """On a busy event loop the waiters of a large batch get their turns one at a time."""
    batches = Batches()
    send(batches, 5.0, 1)
    grace, late = DEFAULT_TUNING.batch_grace, DEFAULT_TUNING.batch_late
    turn = 5.0 + (grace + late) / 2
    assert isinstance(batches.take(turn, 1.0, OFFERED, OFFERED, asked=4.9), Batch)
    assert isinstance(batches.take(turn, 1.0, OFFERED, OFFERED, asked=turn), float)
    assert isinstance(batches.take(5.01 + late, 1.0, OFFERED, OFFERED, asked=4.9), float)


def test_a_batch_the_refill_cut_in_two_moves_the_moment_half_a_second_away() -> None:
    """Answers all back at once leave the whole second of room: the move is trusted at once."""
    batches = Batches()
    first = send(batches, 7.2, 20)
    answer(batches, first, 8.3, straddling(20, before=12))
    assert batches.phase == pytest.approx(0.7, abs=0.02)
    assert batches.confirmed


def answer_spread(batches: Batches, grants: list[Batch], start: float, spread: float) -> None:
    """Answers coming back evenly over ``spread`` seconds from ``start``, cut after 12."""
    values = straddling(len(grants), before=12)
    for n, (batch, left) in enumerate(zip(grants, values, strict=True)):
        now = start + spread * n / (len(grants) - 1)
        batches.settle(batch, now, "entities", 1.0, left, refused=False)


def test_a_429_in_a_batch_doubts_its_moment_too() -> None:
    batches = Batches()
    first = send(batches, 7.2, 20)
    answer(batches, first, 8.3, [*whole(18), -1, -1])
    assert batches.phase == pytest.approx(0.7, abs=0.02)


def test_until_a_batch_lands_whole_at_the_moment_batches_take_half_a_refill() -> None:
    """Answers spread over 0.8 s leave too little room to trust the move at once."""
    batches = Batches()
    first = send(batches, 7.2, 20)
    answer_spread(batches, first, 7.9, 0.8)
    assert not batches.confirmed
    moment = 9.0 + batches.phase if batches.phase is not None else math.nan
    assert batches.take(moment, 1.0, OFFERED, OFFERED, asked=moment) is batches.current
    assert batches.current is not None
    assert batches.current.allowance == OFFERED / 2
    half = [batches.current, *send(batches, moment, 9)]
    assert isinstance(batches.take(moment + 0.01, 1.0, OFFERED, OFFERED, asked=moment), float)
    answer(batches, half, moment + 0.9, whole(10))
    assert batches.confirmed
    wait = batches.take(moment + 0.95, 1.0, OFFERED, OFFERED, asked=moment + 0.95)
    assert isinstance(wait, float)
    send(batches, moment + 0.95 + wait, 20)  # confirmed: the whole refill


def test_a_whole_batch_keeps_the_moment_and_shows_what_others_took_before_it() -> None:
    batches = Batches()
    moment, phases = 3.4, []
    for _ in range(16):
        wait = batches.take(moment, 1.0, OFFERED, OFFERED, asked=moment)
        if isinstance(wait, float):
            moment += wait
            wait = batches.take(moment, 1.0, OFFERED, OFFERED, asked=moment)
        assert isinstance(wait, Batch)
        count = int(wait.allowance)
        grants = [wait, *send(batches, moment, count - 1)]
        # Another program takes 6 tokens right after each refill, before our batch lands.
        answer(batches, grants, moment + 0.9, whole(count, top=OFFERED - 6))
        phases.append(batches.phase)
        moment += 0.5
    assert len(set(phases[-8:])) == 1  # settled: every batch lands whole at one moment
    assert batches.others == pytest.approx(6.0, abs=0.5)
    assert batches.current is not None
    assert batches.current.allowance == OFFERED - 6


def test_equal_values_in_two_families_are_two_buckets_not_a_refill() -> None:
    batches = Batches()
    grants = send(batches, 2.25, 4)
    families = ["entities", "staff", "entities", "staff"]
    for batch, family, left in zip(grants, families, [19.0, 19.0, 18.0, 18.0], strict=True):
        batches.settle(batch, 3.1, family, 1.0, left, refused=False)
    assert batches.phase == pytest.approx(0.25)  # landed whole: the moment stays
    staff = send(batches, 3.25, 2)
    for batch, left in zip(staff, [19.0, 19.0], strict=True):
        batches.settle(batch, 4.1, "staff", 1.0, left, refused=False)
    assert batches.phase == pytest.approx(0.75, abs=0.02)  # a repeat within one family: moved


def test_the_longest_run_wraps_round_the_circle() -> None:
    flags = [True, True, False, False, True, True, True]
    assert longest_run(flags) == (5, 1)
    assert longest_run([False] * 4) == (0, 0)
    assert longest_run([True] * 4) == (4, 3)
    assert apart(0.95, 0.05) == pytest.approx(0.1)
    assert apart(2.3, 0.3) == pytest.approx(0.0)
    assert apart(0.2, 0.7) == pytest.approx(0.5)


def test_a_cut_batch_moves_to_the_middle_of_the_room_its_answers_show() -> None:
    """Answers 0.7-1.3 s after the moment (the latency spent before the limiter), the refill
    after the first 30 %: the batch spans 0.6 s, so moved by anything in an arc of 0.4 s it lands
    between two refills; the middle of that arc is 0.5 s from the cut less the batch's middle."""
    batches = Batches()
    grants = send(batches, 4.0, 20)
    delays = [0.7 + 0.6 * n / 19 for n in range(20)]
    values = straddling(20, before=6)
    for batch, delay, left in zip(grants, delays, values, strict=True):
        batches.settle(batch, 4.0 + delay, "entities", 1.0, left, refused=False)
    cut = (delays[5] + delays[6]) / 2
    assert batches.phase == pytest.approx((cut + 0.5 - 1.0) % 1.0, abs=1e-9)
    # Checked against the wire: every delay plus the new moment falls between two refills.
    refill = 4.0 + cut
    moment = 5.0 + batches.phase
    handled = [moment + delay - refill for delay in delays]
    assert all(0.15 < h % 1.0 < 0.85 for h in handled)


def test_a_batch_refused_whole_a_second_after_one_that_landed_finds_everything_taken() -> None:
    """Another program (a second syncer process, say) took the whole refill before ours landed:
    the next batch leaves it that share (all but one request, so that answers still come)."""
    batches = Batches()
    first = send(batches, 3.0, 20)
    answer(batches, first, 3.6, whole(20))
    refused = send(batches, 4.0, 20)
    answer(batches, refused, 4.6, [-1] * 20)
    assert batches.others == OFFERED
    assert batches.phase == pytest.approx(0.0)  # not the moment's fault: it stays
    wait = batches.take(4.7, 1.0, OFFERED, OFFERED, asked=4.7)
    assert isinstance(wait, float)
    assert batches.take(5.0, 1.0, OFFERED, OFFERED, asked=5.0) is batches.current
    assert batches.current is not None
    assert batches.current.allowance == 1


def test_after_a_pause_an_idle_bucket_sends_at_once_and_the_next_batch_repays_it() -> None:
    """Nothing in flight and a moment passed unused: what the model holds goes now (it would
    wait for the moment otherwise), and the timed batch after it leaves room for what it took,
    as the two may share a server second."""
    batches = Batches()
    answer(batches, send(batches, 10.3, 1), 11.3, whole(1))
    assert batches.take(15.0, 1.0, OFFERED, OFFERED, asked=15.0) == pytest.approx(0.3)
    early = [batches.take(15.0, 1.0, OFFERED, OFFERED, asked=15.0, idle=True)]
    early += send(batches, 15.0, 9)
    assert {id(g) for g in early} == {id(early[0])}
    assert isinstance(early[0], Batch)
    assert early[0].early
    answer(batches, early, 16.0, whole(10))
    timed = send(batches, 16.3, 10)  # the moment: twenty offered, ten of them already taken
    assert not timed[0].early
    assert isinstance(batches.take(16.3, 1.0, OFFERED, OFFERED, asked=16.3), float)


def test_an_early_batch_answered_a_second_before_the_moment_costs_the_next_batch_nothing() -> None:
    batches = Batches()
    answer(batches, send(batches, 10.3, 1), 11.3, whole(1))
    early = batches.take(15.0, 1.0, OFFERED, OFFERED, asked=15.0, idle=True)
    assert isinstance(early, Batch)
    answer(batches, [early], 15.2, whole(1))  # handled a second or more before 16.3
    send(batches, 16.3, 20)


def test_an_early_batch_that_took_a_whole_refill_leaves_the_next_moment_unused() -> None:
    """A timed batch has at least one request; here even that one might meet an empty bucket,
    so the moment passes and the one after it (a second after the early batch) takes it all."""
    batches = Batches()
    answer(batches, send(batches, 10.3, 1), 11.3, whole(1))
    early = [batches.take(15.0, 1.0, OFFERED, OFFERED, asked=15.0, idle=True)]
    early += send(batches, 15.0, 19)
    assert batches.take(15.3, 1.0, OFFERED, 0.0, asked=15.3) == pytest.approx(1.0)
    answer(batches, early, 16.1, whole(20))
    send(batches, 16.3, 20)


def test_batches_that_go_at_every_moment_never_go_early() -> None:
    """While timed batches go at every moment, each refill is theirs: an idle bucket between
    two of them (answers back before the next moment, at 0.5 s) waits for the moment."""
    batches = Batches()
    answer(batches, send(batches, 10.3, 1), 10.8, whole(1))
    grants = send(batches, 11.3, 20)
    answer(batches, grants, 11.9, whole(20))
    wait = batches.take(12.0, 1.0, OFFERED, 5.0, asked=12.0, idle=True)
    assert wait == pytest.approx(0.3)
