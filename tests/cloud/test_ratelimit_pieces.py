"""Each piece of the limiter on its own: phase, bucket rules, pacing, partition, AIMD, tuning."""

from __future__ import annotations

import dataclasses
import math

import pytest

from syncer.cloud.ratelimit import DEFAULT_TUNING, SHARED, Tuning
from syncer.cloud.ratelimit.aimd import Aimd
from syncer.cloud.ratelimit.bucket import Bucket, Observation
from syncer.cloud.ratelimit.credits import Credits
from syncer.cloud.ratelimit.pacing import Pacer
from syncer.cloud.ratelimit.partition import Partition
from syncer.cloud.ratelimit.phase import Phase
from syncer.cloud.ratelimit.readings import Reading


def test_a_provisional_phase_credits_a_whole_second_after_the_first_response() -> None:
    phase = Phase()
    assert not phase.known
    phase.assume(10.3)
    assert phase.known
    assert phase.provisional
    # Every later one-second interval ending at 10.3 + k holds a boundary: credit at its end.
    assert phase.credit_after(10.4) == pytest.approx(11.3 + DEFAULT_TUNING.credit_margin)
    assert phase.second_of(10.4, 10.5) is None  # nothing is surely within one interval yet


def placed_at_six_tenths() -> Phase:
    """A phase narrowed by twenty seconds of windows: the server's second begins at .6."""
    phase = Phase()
    phase.assume(0.9)
    for second in range(20):
        phase.boundary_in(second + 0.58, second + 0.62)
        phase.no_boundary_in(second + 0.65, second + 1.55)
    return phase


def test_windows_with_and_without_a_boundary_narrow_the_phase() -> None:
    phase = placed_at_six_tenths()
    assert phase.width < 0.1
    assert phase.start <= 0.6 <= phase.start + phase.width
    credit = phase.credit_after(5.0)
    assert 5.6 <= credit <= 5.7
    assert phase.following(credit, phase.earliest_boundary_before(credit), False)[1] > credit + 0.5


def test_a_slow_wire_dates_answers_by_their_handling_and_a_next_credit_is_a_second_on() -> None:
    bucket = Bucket(SHARED)
    assert bucket.leg(0.05) == 0.0  # a fast wire: its time is noise next to the phase's precision
    for sent in range(5):
        bucket.recent.remember(Observation(sent, sent + 1.2 - 0.05 * sent, 10, 0, leg=0.0))
    # The shortest round trip, 1 s, puts a share of it on each leg (the legs need not be equal).
    assert bucket.leg() == pytest.approx(DEFAULT_TUNING.leg_share * 1.0)
    assert bucket.leg(0.8) == pytest.approx(DEFAULT_TUNING.leg_share * 0.8)
    bucket.refused_on_the_wire()  # a 429 there: the legs are less even than assumed
    assert bucket.leg() == pytest.approx(DEFAULT_TUNING.leg_share / 2 * 1.0)
    seen = Observation(3.0, 4.0, 10, 0, leg=0.3)
    assert (seen.handled_from, seen.handled_by) == (3.3, 4.0)  # the way back may be instant
    phase = Phase()
    phase.assume(0.9)
    for second in range(20):
        phase.boundary_in(second + 0.5, second + 0.7)  # the estimate moves later than .9
    assert phase.credit_after(5.0) > 5.5
    # Each credit comes after its boundary, and the next is one second later, wherever the
    # estimate has moved since.
    assert phase.next_credit(4.9) <= 5.9


def test_a_grant_is_in_flight_until_settled_once() -> None:
    bucket = Bucket(SHARED)
    first = bucket.grant("entities", 2.0, now=1.0)
    second = bucket.grant("entities", 3.0, now=1.1)
    assert (bucket.granted, bucket.in_flight, bucket.in_flight_cost) == (5.0, 2, 5.0)
    assert (second.granted_before, second.in_flight_before) == (2.0, 2.0)
    assert bucket.settle(first)
    assert not bucket.settle(first)
    assert (bucket.in_flight, bucket.in_flight_cost) == (1, 3.0)


def test_a_credit_withholds_the_other_programs_share_in_whole_tokens() -> None:
    bucket = Bucket(SHARED, rate=10, capacity=20)
    assert bucket.gain() == 10
    assert bucket.gain(room=4) == 4
    bucket.external_rate = 2.3  # rounded up from a quarter: 3 whole tokens
    assert bucket.gain() == 7
    bucket.external_rate = 2.2
    assert bucket.gain() == 8


def test_an_unbroken_chain_of_answers_proves_the_level_and_a_credit_spends_it() -> None:
    bucket = Bucket(SHARED, rate=10, capacity=10)
    top = bucket.grant("e", 1, 0.0)
    bucket.settle(top)
    bucket.follow_chain(top, 8, False, exact=True)  # nothing else in flight: 8 is the level
    grants = [bucket.grant("e", 1, 0.1) for _ in range(3)]
    for grant, remaining in zip(grants, (7, 6, 5), strict=True):
        bucket.settle(grant)
        assert bucket.proven_level() is None  # not every grant since the top is answered yet
        bucket.follow_chain(grant, remaining, False, exact=False)
    assert bucket.proven_level() == 5
    bucket.note_credit(1.0, 0.0)
    assert bucket.proven_level() is None
    broken = Bucket(SHARED, rate=10, capacity=10)
    top = broken.grant("e", 1, 0.0)
    broken.settle(top)
    broken.follow_chain(top, 8, False, exact=True)
    gap = broken.grant("e", 1, 0.1)
    broken.settle(gap)
    broken.follow_chain(gap, 9, False, exact=False)  # a refill came in between
    assert broken.proven_level() is None
    assert bucket.granted_at_credit == bucket.granted


def test_an_answer_handled_earlier_cannot_raise_the_model_above_the_lowest_since_the_credit() -> (
    None
):
    bucket = Bucket(SHARED, rate=10, capacity=10)
    assert bucket.cap_by_answer(3.0) == 3.0  # the lowest answer so far: 3 left
    bucket.grant("e", 1, 0.1)
    # An answer handled before that one arrives later saying 7: the bucket only went down since.
    assert bucket.cap_by_answer(7.0) == 2.0  # 3, less the grant made since
    bucket.note_credit(1.0, 0.0)  # a refill: answers before it bound nothing after it
    assert bucket.cap_by_answer(9.0) == 9.0


def test_waves_go_on_halving_while_another_program_draws_and_stop_when_none_does() -> None:
    bucket = Bucket(SHARED, rate=10, capacity=10, tokens=9)
    earlier = bucket.grant("e", 1, 0.0)
    bucket.spend_in_waves()
    assert bucket.reserve == 5  # four go now: two processes halving 9 must not take 10
    bucket.settle(earlier)
    bucket.answered()  # answered, but granted before the wave: the wave has not begun
    assert bucket.reserve == 5
    wave = [bucket.grant("e", 1, 0.0) for _ in range(4)]
    bucket.set_tokens(4, 0.0)
    bucket.external_this_second = 3.0  # the answers show another program taking tokens
    for grant in wave:
        assert bucket.reserve == 5  # until the wave's last answer
        bucket.settle(grant)
        bucket.answered()
    assert bucket.reserve == 2  # the next wave is half of what is left again
    bucket.external_this_second = 0.0  # nobody else drew after all
    for grant in [bucket.grant("e", 1, 0.0) for _ in range(2)]:
        bucket.settle(grant)
        bucket.answered()
    assert bucket.reserve == 0  # the rest goes at once


def test_tokens_lost_in_a_race_for_found_ones_are_not_taken_for_another_programs_share() -> None:
    """Two processes that find the same leftover tokens both go for them; what one loses to the
    other there is not a rate the other takes every second (counted as one, both processes came
    to withhold the whole refill from themselves). A loss beyond the found tokens still counts."""
    phase = placed_at_six_tenths()
    credits = Credits(phase, DEFAULT_TUNING)
    bucket = Bucket(SHARED, rate=10, capacity=10, known=True)
    credit = phase.credit_after(30.0)
    bucket.note_credit(credit, phase.earliest_boundary_before(credit))
    sent = bucket.last_credit + 0.1
    probe = bucket.grant("e", 1, sent)
    bucket.settle(probe)
    credits.reconcile(bucket, probe, sent + 0.01, 8, throttled=False)
    assert (bucket.tokens, bucket.found) == (8, 8)
    found_evidence = bucket.external_this_second
    assert found_evidence < 0  # found: others take less than the model withheld
    wave = [bucket.grant("e", 1, sent + 0.02) for _ in range(4)]
    bucket.set_tokens(bucket.tokens - 4, sent + 0.02)
    for grant in wave:
        bucket.settle(grant)
    credits.reconcile(bucket, wave[-1], sent + 0.03, 0, throttled=False)
    assert (bucket.tokens, bucket.found) == (0, 4)  # the other process took the other four
    assert bucket.external_this_second == found_evidence
    bucket.set_tokens(9, sent + 0.04)  # say a model that thought nine were left
    credits.reconcile(bucket, wave[0], sent + 0.05, 0, throttled=False)
    assert bucket.external_this_second == pytest.approx(found_evidence + 5)  # 9 lost, 4 raced


@pytest.mark.parametrize(("others_lately", "narrowed"), [(0.0, True), (5.0, False)])
def test_a_low_answer_proves_no_boundary_only_while_no_other_program_is_about(
    others_lately: float, narrowed: bool
) -> None:
    """Two left after a bucket of ten: a refill would have left more, so no boundary came
    between the answers, unless another program (another syncer process) may have taken the
    refill right after it."""
    phase = Phase()
    credits = Credits(phase, DEFAULT_TUNING)
    bucket = Bucket(SHARED, rate=10, capacity=10, known=True, external_peak=others_lately)
    bucket.recent.remember(Observation(0.0, 0.1, 8, answered=0.0))
    grant = bucket.grant("e", 1, 0.5)
    bucket.settle(grant)
    assert credits.locate_boundary(bucket, grant, 0.6, 2, consumed=1) is None
    assert (phase.width < 1.0) is narrowed


def test_a_blocked_probe_backs_off_while_refused_and_one_that_passes_gives_a_share_back() -> None:
    bucket = Bucket(SHARED, rate=10, capacity=10, external_rate=10)
    intervals = []
    for _ in range(7):
        bucket.send_blocked_probe(now=0.0)
        intervals.append(bucket.blocked_probe_at)
        bucket.blocked_probe_refused()
    assert intervals == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]  # up to the tuning's cap
    bucket.send_blocked_probe(now=100.0)
    assert bucket.blocked_probe_at == 116.0
    bucket.blocked_probe_passed(now=100.1, remaining=8)  # the other process has stopped, say
    assert bucket.blocked_probe_at == 101.1  # not 16 s on: a second, as before any refusal
    assert bucket.external_rate == 1  # others took at most one besides the probe
    assert bucket.gain() == 9  # and that one is withheld from each credit
    bucket.send_blocked_probe(now=101.1)
    assert bucket.blocked_probe_at == 102.1


def test_a_limits_change_restarts_the_checks_and_pauses_learning() -> None:
    bucket = Bucket(SHARED, known=True, rate=10, capacity=10, checked_credits=2)
    bucket.set_limits(20, 20, now=5.0)
    assert (bucket.rate, bucket.capacity, bucket.checked_credits) == (20, 20, 0)
    assert not bucket.learning(6.0)
    assert bucket.learning(5.0 + DEFAULT_TUNING.learning_pause)


def test_partition_splits_on_equal_remaining_across_families_and_merges_back() -> None:
    partition = Partition()
    assert partition.key("entities") == SHARED
    changed = [
        partition.weigh(family, second, 7.0)
        for second in range(6)
        for family in ("entities", "users")
    ]
    assert changed.count(True) == 1
    assert partition.split
    assert partition.key("users") == "users"
    merged = [
        partition.weigh(family, second, 9.0 - i)
        for second in range(10, 40)
        for i, family in enumerate(("entities", "users"))
    ]
    assert merged.count(True) == 1
    assert not partition.split


def test_aimd_halves_once_for_refusals_that_arrive_together() -> None:
    aimd = Aimd()
    assert aimd.wait(0.0) is None
    assert aimd.wait(0.0) == pytest.approx(1.0)
    aimd.succeeded()
    assert aimd.active
    assert aimd.rate == pytest.approx(2.0)
    aimd.refused(3.0)
    aimd.refused(3.5)
    assert aimd.rate == pytest.approx(1.0)
    for moment in range(5, 10):
        aimd.refused(float(moment))
    assert aimd.rate == DEFAULT_TUNING.aimd_floor
    assert aimd.pause_after_refusal() == pytest.approx(4.0)


def test_tuning_is_one_frozen_value_that_can_be_varied() -> None:
    wider = dataclasses.replace(DEFAULT_TUNING, aimd_floor=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        wider.aimd_floor = 1.0  # type: ignore[misc]
    aimd = Aimd(wider)
    for moment in range(10):
        aimd.refused(float(moment))
    assert aimd.rate == 0.5
    assert Tuning() == DEFAULT_TUNING


def test_pacing_applies_where_the_bucket_holds_a_refill_and_a_request_is_small() -> None:
    pacer = Pacer()
    assert pacer.applies(10, 20, 1)
    assert pacer.applies(50, 100, 1)
    assert not pacer.applies(10, 10, 1)  # burst = rate: each refill must go at its boundary
    assert not pacer.applies(8, 2, 1)
    assert not pacer.applies(10, 40, 10)  # a request is a whole refill
    assert not pacer.applies(1, 60, 60)


def test_a_paced_bucket_spends_its_burst_then_sends_evenly_at_what_others_leave() -> None:
    pacer = Pacer()
    pacer.start(20.0, now=0.0, rate=10, at=0.5)  # answered mid-second: on the mean line
    floor = pacer.floor(10, 20, 1)
    # Half a second of the sawtooth, a request, a little for dating noise; no others seen yet.
    assert 6.0 <= floor <= 20 - 5 - 2.5
    sent = 0
    while pacer.wait(0.0, 10, 20, 1) is None:
        pacer.take(1, 0.0)
        sent += 1
    assert sent == pytest.approx(20 - floor, abs=1)  # the burst, less the floor
    pacer.others = 4.0
    pacer.samples = 1  # measured: their rate is in the floor
    while pacer.wait(0.0, 10, 20, 1) is None:
        pacer.take(1, 0.0)
        sent += 1
    assert sent > 20 - floor
    wait = pacer.wait(0.0, 10, 20, 1)
    assert wait is not None
    pacer.advance(wait, 10, 20)
    assert pacer.wait(wait, 10, 20, 1) is None
    pacer.take(1, wait)
    # Then one request per 1 / (rate - others) seconds.
    assert pacer.wait(wait, 10, 20, 1) == pytest.approx(1 / 6, rel=0.01)


def test_an_answer_whose_place_in_the_second_is_unknown_starts_as_if_at_the_boundary() -> None:
    """Just after the server's boundary the level stands half a refill above its mean line:
    taken for the mean, the first second's continuous rise is spent from a bucket that does not
    refill until its boundary (the first 429 of a fast start)."""
    placed, unplaced = Pacer(), Pacer()
    placed.start(20.0, now=0.0, rate=10, at=0.5)
    unplaced.start(20.0, now=0.0, rate=10, at=None)
    assert placed.level == 20.0
    assert unplaced.level == pytest.approx(20.0 - 10 / 2)


def test_the_prior_share_is_held_from_the_start_until_others_are_measured_then_fades() -> None:
    """Spending the burst takes a tenth of a second, before any answer can show another
    program: the prior share is held from the start (an on/off neighbour in its "on" second
    found the bucket spent to the floor), until others' rate is first measured, then it fades
    over a window (dropped at once, many workers spent it together late in a server second)."""
    window = DEFAULT_TUNING.others_window
    pacer = Pacer()
    pacer.start(40.0, now=0.0, rate=10, at=0.5)
    held = pacer.floor(10, 40, 1)
    pacer.first_measured = 1.0  # measured: nobody else draws
    pacer.advance(1.0 + window / 2, 10, 40)
    fading = pacer.floor(10, 40, 1)
    pacer.advance(1.0 + window, 10, 40)
    alone = pacer.floor(10, 40, 1)
    assert held >= alone + 10 * DEFAULT_TUNING.others_prior
    assert alone < fading < held
    never = Pacer()  # never measured: held for two windows at most
    never.start(40.0, now=0.0, rate=10, at=0.5)
    never.advance(3 * window, 10, 40)
    assert never.floor(10, 40, 1) == pytest.approx(alone)


def test_on_a_slow_wire_the_prior_share_is_held_only_once_another_program_shows_up() -> None:
    """At a latency of a second a job of a few seconds ended before a prior held from the start
    had faded (a paced read of 101 pages took 1.44x the ideal over eight seeds, not 1.39x):
    there nothing is held for a program nobody has seen, and from the first evidence of one
    its prior share is."""
    window = DEFAULT_TUNING.others_window
    fast, slow = Pacer(), Pacer()
    fast.start(40.0, now=0.0, rate=10, at=0.5)
    slow.start(40.0, now=0.0, rate=10, at=0.5, slow=True)
    held = fast.floor(10, 40, 1)
    assert slow.floor(10, 40, 1) <= held - 10 * DEFAULT_TUNING.others_prior
    slow.notice_others(0.3)
    slow.advance(0.5, 10, 40)
    fast.advance(0.5, 10, 40)
    assert slow.floor(10, 40, 1) == pytest.approx(fast.floor(10, 40, 1))
    slow.advance(0.3 + 3 * window, 10, 40)  # never measured: held for two windows at most
    fast.advance(0.3 + 3 * window, 10, 40)
    assert slow.floor(10, 40, 1) == pytest.approx(fast.floor(10, 40, 1))


def test_a_full_bucket_brings_a_measured_refill_for_others_down() -> None:
    """Another program took the whole refill and stopped: our answers find the bucket full, its
    refills lost to the capacity, which looks like others' draws. That only bounds their rate
    from above, and the bound was their rate itself: the pacer's line never rose again, and it
    sent one request a window. A bucket seen no lower than 19 of 20 lost at most 1 a second."""
    boundaries = lambda after, until: math.floor(until) - math.floor(after)  # noqa: E731
    pacer = Pacer(spread=0.01, others=10.0)
    for step in range(61):
        moment = 0.1 * step + 0.05
        pacer.measure(Reading(moment, 19, 0.0), moment, (10, 20), boundaries)
    assert pacer.others <= 1.0 + 1e-9


def test_the_first_measurement_of_others_is_taken_in_full() -> None:
    """Smoothed from a prior of none, another program's rate was taken a fifth of the way at a
    time and learnt over five seconds, the floor rising all the while: until the measurements
    are worth the settling time, they are averaged."""
    boundaries = lambda after, until: math.floor(until) - math.floor(after)  # noqa: E731
    pacer = Pacer(spread=0.01)
    # We send 4 a second, another program takes 6: remaining falls by 10 and gains 10 a second.
    for step in range(int(10 * DEFAULT_TUNING.others_window) + 2):
        moment = 0.1 * step + 0.05
        pacer.take(0.4, moment - 0.01)
        remaining = 15 - 1.0 * step + 10 * math.floor(moment)
        pacer.measure(Reading(moment, remaining, 0.4 * step), moment, (10, 20), boundaries)
    assert pacer.measured
    assert pacer.others >= 5.0


def test_the_learnt_sawtooth_follows_a_new_rate_at_once() -> None:
    """The sawtooth's depth is learnt as a share of the refill: when the headers show a new
    rate the floor is re-derived from it at once, not after the answers relearn it."""
    pacer = Pacer(_shape_xy=0.25 * 0.8, _shape_xx=0.25)  # the level falls 0.8 of a refill
    assert pacer.amplitude(10) == pytest.approx(8.0)
    assert pacer.amplitude(20) == pytest.approx(16.0)


def test_the_floor_never_lets_the_sawtooth_reach_the_capacity() -> None:
    pacer = Pacer(others=9.0, delay=1.0, spread=0.6, samples=1)
    assert (
        pacer.floor(10, 20, 1) <= 20 - pacer.amplitude(10) / 2 - DEFAULT_TUNING.pace_headroom * 10
    )


def test_others_rate_is_measured_from_what_remaining_lost_and_a_full_bucket_only_lowers_it() -> (
    None
):
    boundaries = lambda after, until: math.floor(until) - math.floor(after)  # noqa: E731
    pacer = Pacer(spread=0.01)
    # We send 4 a second, another program takes 3: remaining falls by 7 and gains 10 a second.
    for step in range(61):
        moment = 0.1 * step + 0.05
        ours = 0.4 * step
        remaining = 12 - 0.7 * step + 10 * math.floor(moment)
        pacer.take(0.4, moment - 0.01)
        pacer.measure(Reading(moment, remaining, ours), moment, (10, 20), boundaries)
    assert 2.0 <= pacer.others <= 3.5
    before = pacer.others
    full = Pacer(spread=0.01, others=before)
    for step in range(61):  # the bucket stays full: refills are lost, not taken by others
        moment = 0.1 * step + 0.05
        full.measure(Reading(moment, 19, 0.0), moment, (10, 20), boundaries)
    assert full.others <= before


def test_a_bursts_grants_are_counted_as_handled_over_the_spread_of_the_wire() -> None:
    pacer = Pacer(spread=0.4, offset=0.5, offset_known=True)
    for _ in range(10):
        pacer.take(1, 1.0)  # ten requests leave together at 1.0
    assert pacer.ours_by(1.2) == 0  # none handled before 1.0 + 0.5 - 0.2
    assert pacer.ours_by(1.5) == pytest.approx(5)  # half of them by the middle of the spread
    assert pacer.ours_by(1.8) == 10


def test_others_are_measured_at_most_every_so_often_from_every_answer_kept() -> None:
    """Each measurement scans the window's answers: answers closer than ``others_every`` to the
    last measurement are kept for later ones but not measured, and the estimate follows what
    others take, at 200 answers a second as at 1,000 (where a fixed count of kept answers once
    covered half a window, and others were never measured)."""
    boundaries = lambda after, until: math.floor(until) - math.floor(after)  # noqa: E731
    tuning = DEFAULT_TUNING
    for per_second in (200, 1_000):
        pacer = Pacer(spread=0.001)
        gap, seconds = 1 / per_second, 6
        others = per_second / 10
        for step in range(per_second * seconds):  # one token per answer; others a tenth more
            moment = gap * step + gap / 2
            remaining = 5 * per_second - 1.1 * step + per_second * math.floor(moment)
            pacer.take(1, moment - gap / 10)
            limits = (per_second, 10 * per_second)
            pacer.measure(Reading(moment, remaining, float(step)), moment, limits, boundaries)
        kept = pacer.readings[-1].handled - pacer.readings[0].handled
        assert 2 * tuning.others_window - 2 * gap <= kept <= 2 * tuning.others_window
        measurable = (seconds - tuning.others_window) / tuning.others_every
        assert 0.9 * measurable <= pacer.samples <= measurable + 1  # not one per answer
        assert 0.75 * others <= pacer.others <= 1.25 * others
