"""Pacing: spend the burst, then send evenly at the rate others leave, never emptying the bucket.

Spending each refill the moment it is believed to have arrived (a burst every second) needs the
server's second boundary exactly, and it empties the bucket once a second: another program that
draws later in the second finds nothing, two processes on one API client collide, a burst of
requests meets a token that just died, and at a latency of a second the uncertain boundary costs
half the rate. Where the bucket holds more than a refill (``capacity`` at least ``cost + rate``
and some headroom, ``Pacer.applies``) none of that is needed: a sender that spends at the rate
others leave, evenly spaced, finds the stepwise refill absorbed by the bucket, wherever the
server's seconds fall and however the server refills.

The model is the bucket's *mean level*: what the server holds less what we have granted and it
has not yet taken, on a line that rises by ``rate - others`` a second. Each answer's ``remaining``
less our grants since is a fresh estimate of it; where the server's second is known, the answer is
first moved from the stepwise refill's sawtooth to its mean line (how deep the sawtooth is, is
learnt from the answers: ``amplitude``), and answers that may straddle a boundary are skipped. The
model moves part of the way to each estimate (``Tuning.pace_gain``). Other programs' rate is
*measured* (``measure``): the fall of ``remaining`` between answers two seconds apart that our
own grants and the refills do not explain.

A request goes when the line stands above the **floor**: half of the sawtooth, the other programs'
draws we cannot see yet (their rate over the age of our evidence, plus Poisson deviations; a prior
share of the refill until their rate is first measured: from the start on a fast wire, from the
first evidence of another program on a slow one), the
bunching of our own requests on a jittery wire, and the request. With a backlog the level sits at
the floor, so the floor's tokens carry over from second to second: nothing is lost unless the
bucket is at capacity, which the floor's cap rules out.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter, itemgetter

from syncer.cloud.ratelimit.readings import Lowest, Reading
from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning


@dataclass(slots=True)
class Pacer:
    """The paced model of one bucket (used where ``applies`` says so)."""

    tuning: Tuning = DEFAULT_TUNING
    level: float = 0.0
    """The bucket's mean level less our grants it has not taken yet, at ``at``."""
    at: float = 0.0
    others: float = 0.0
    """Tokens a second other programs take from the bucket."""
    started: bool = False
    started_at: float = 0.0
    spread: float = 0.0
    """Spread of our round trips (seconds): how much our requests may bunch at the server."""
    delay: float = 0.0
    """Age of the evidence an answer carries when it arrives (about one round trip)."""
    readings: deque[Reading] = field(default_factory=deque)
    """The answers of the last two ``Tuning.others_window`` s (a count would cover less than a
    window at a few hundred answers a second, and others would never be measured)."""
    forgotten: int = 0
    """Readings forgotten so far: the number of the oldest one kept (``Lowest``)."""
    earliest: Lowest = field(default_factory=lambda: Lowest(_HANDLED))
    """The readings handled before every later one: a measurement's base is among them."""
    least: Lowest = field(default_factory=lambda: Lowest(_REMAINING))
    measured_at: float = math.inf
    next_measure: float = -math.inf
    """Answers before then are kept but not measured (``Tuning.others_every``)."""
    granted: float = 0.0
    sends: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=1024))
    """(when, cost, our cumulative grants before it) of recent grants."""
    offset: float = 0.0
    """Typical seconds from sending a request to the server handling it (by our dating)."""
    offset_known: bool = False
    samples: int = 0
    """Measurements of others' rate so far."""
    measured_for: float = 0.0
    """Seconds the measurements so far are worth (``measure``)."""
    first_measured: float = math.inf
    """When others' rate was first measured: the prior share fades from then (``_prior``)."""
    phase_error: float = 0.0
    """Seconds an answer placed in the server's second may be off (half the phase's arc)."""
    slow: bool = False
    """Whether the wire was slow when the model started (``Bucket.slow_wire``, ``_prior``)."""
    others_seen_at: float = math.inf
    """When an answer first showed fewer tokens than our own grants explain, before others were
    measured (``notice_others``)."""
    _shape_xy: float = 0.0
    _shape_xx: float = 0.0

    @property
    def measured(self) -> bool:
        return self.samples > 0

    def applies(self, rate: float, capacity: float, cost: float) -> bool:
        """Whether the bucket holds a refill, a request and some headroom, and a request is a
        small part of a refill: below that only a sender that spends each refill right after the
        server's boundary uses the whole rate (and costly requests go one a second or slower
        whichever way they are spent)."""
        headroom = self.tuning.pace_headroom
        return 0 < cost <= rate * headroom and capacity - cost >= rate * (1.0 + headroom)

    def start(
        self, level: float, now: float, rate: float, at: float | None, *, slow: bool = False
    ) -> None:
        """Start the mean line at the first answer's ``level``, ``at`` into the server's second
        (``None`` when unknown, ``_offset``), on a slow wire or not (``slow``)."""
        self.level = level - self.amplitude(rate) * _offset(at)
        self.at, self.started, self.started_at, self.slow = now, True, now, slow

    def notice_others(self, now: float) -> None:
        """Another program drew tokens: on a slow wire, hold the prior share from now until its
        rate is measured (``_prior``)."""
        if not self.measured:
            self.others_seen_at = min(self.others_seen_at, now)

    def advance(self, now: float, rate: float, capacity: float) -> None:
        """Move the mean line to ``now``."""
        if now > self.at:
            gain = max(0.0, rate - self.others) * (now - self.at)
            self.level = min(capacity, self.level + gain)
            self.at = now

    def floor(self, rate: float, capacity: float, cost: float) -> float:
        """The level below which nothing is sent: half the sawtooth of a stepwise refill, other
        programs' draws we cannot see yet (their rate over the age of our evidence, and
        ``Tuning.others_deviations`` of a Poisson count; the prior share until their rate is
        measured, ``_prior``), our own requests bunching on the wire,
        and the sawtooth misjudged by the phase's uncertainty; but never so high that the
        sawtooth's top would meet the bucket's capacity (tokens lost)."""
        unseen = max(self.others * (self.delay + self.tuning.pace_horizon), self._prior(rate))
        # The model takes our tokens when granted, the server when it handles them: an answer
        # shows the later grants handled before it twice (safe) and misses the earlier ones
        # handled after it: about a quarter of the round trips' spread of our rate, on average.
        # Plus a few hundredths of a second of it for the noise in dating the answers.
        bunching = rate * (self.spread / 4.0 + self.tuning.pace_slack)
        ours = self.amplitude(rate)
        # An answer placed that far off in the second misjudges the sawtooth by as much of it.
        bunching += ours * self.phase_error
        wanted = ours / 2.0 + unseen + self.tuning.others_deviations * math.sqrt(unseen)
        wanted += bunching + cost
        # The top of the sawtooth (half a second of ours above the line) stays a margin below
        # the capacity, or refills are lost to it.
        return min(wanted, capacity - ours / 2.0 - max(cost, self.tuning.pace_headroom * rate))

    def _unplaced_until(self) -> float:
        """On a slow wire, until when an answer whose place in the server's second is unknown is
        taken as the highest it may stand (the first window: the level the start is spent down
        to; later ones average out over the second), unless another program has shown up: then
        the prior share held for it covers that too."""
        return min(self.started_at + self.tuning.others_window, self.others_seen_at)

    def _prior(self, rate: float) -> float:
        """Tokens held for other programs before their rate is known: ``Tuning.others_prior`` of
        a refill from the start until the first measurement (two windows at most), fading out
        over the window after it. On a slow wire, only from the first evidence of another
        program (``notice_others``).

        Held from the start, not from the first evidence of another program: spending the
        burst takes a tenth of a second, and an on/off neighbour in its "on" second found the
        bucket spent to the floor before any answer could show it (up to 17 % of its draws
        refused in an 8-s run, ``tests.cloud.neighbour_cells``); and the floor rising when the
        neighbour's rate was learnt, a second or two in, cost each 8-s cell a share of its
        seconds (per-second utilisation 0.78-0.90 at 60 %). Faded, not dropped: a lone syncer
        with many workers spent the whole prior at once, late in a server second, and met 429s.

        Not from the start on a slow wire: there a job of a few seconds is over before the prior
        fades (a 101-page read at 1 s of latency, rate 20, burst 40, took 1.39x the ideal over
        eight seeds, 1.44x with the prior held from the start: ``test_rate_at_latency``)."""
        window = self.tuning.others_window
        held_from = self.others_seen_at if self.slow else self.started_at
        if self.at < held_from:
            return 0.0
        until = min(self.first_measured, held_from + 2 * window)
        kept = 1.0 if self.at < until else max(0.0, 1.0 - (self.at - until) / window)
        return rate * self.tuning.others_prior * kept

    def wait(self, now: float, rate: float, capacity: float, cost: float) -> float | None:
        """Seconds until a request of ``cost`` may go, or ``None`` if it may go now."""
        self.advance(now, rate, capacity)
        short = self.floor(rate, capacity, cost) - self.level
        if short <= 0:
            return None
        rising = rate - self.others
        return min(1.0, short / rising) if rising > 0 else 1.0

    @property
    def last_sent(self) -> float:
        """When we last granted a request on this model (its start before any)."""
        return self.sends[-1][0] if self.sends else self.started_at

    def take(self, cost: float, now: float) -> None:
        self.level -= cost
        self.sends.append((now, cost, self.granted))
        self.granted += cost

    def ours_by(self, moment: float) -> float:
        """Our grants the server has handled by ``moment``, as far as we can tell: each is
        handled one typical offset after it was sent, give or take half the spread (a burst's
        answers come back in any order; counting them in our own order, or all at once, made
        that reordering look like other programs' draws)."""
        width = max(self.spread, self.tuning.min_sleep)
        early = moment - self.offset - width / 2
        late = early + width
        sends = self.sends
        # Those sent from ``late`` on count for nothing yet: skipped, found by bisection (``sends``
        # is in the order of sending), for at a high rate they are most of them.
        unhandled = len(sends) - bisect_left(sends, late, key=_SENT)
        handled = 0.0
        for sent, cost, before in islice(reversed(sends), unhandled, None):
            if sent <= early:
                return before + cost + handled
            share = (late - sent) / width
            handled += cost * (share if share < 1.0 else 1.0)
        return handled + (sends[0][2] if sends else 0.0)

    def answer(
        self, left: float, handled: float, at: float | None, now: float, limits: tuple[float, float]
    ) -> None:
        """An answer: ``left`` is its ``remaining`` less our grants since, the request was handled
        at about ``handled``, ``at`` into the server's second (``None`` when unknown). The level
        rose since along the line; where in the second it was handled says how far above or below
        the line it stood (the sawtooth, ``amplitude``), which is learnt from the answers too.
        Where that is not known the answer stands anywhere on the sawtooth, on the line on
        average: it moves the model less (``Tuning.pace_gain_unplaced``). (Taken as the highest
        it may stand during the first window, the model stood up to a refill below the bucket
        while the prior share was held, and the bucket filled to its capacity.) Not on a slow
        wire, where no prior is held from the start: there the phase is placed late and unplaced
        answers are most of the evidence for seconds (at the lower gain the model lagged them),
        and they are taken as the highest they may stand during the first window
        (``_unplaced_until``; on the line, ``fixed_work 300 50 100 0.25`` met 19 429s, not 3)."""
        rate, capacity = limits
        self.advance(now, rate, capacity)
        rising = max(0.0, rate - self.others) * (now - handled)
        raw = min(capacity, left + rising)
        if at is None and not self.slow:
            self.observe(raw, now, rate, capacity, self.tuning.pace_gain_unplaced)
            return
        offset = _offset(at) if at is not None or self.at < self._unplaced_until() else 0.0
        if at is not None:
            weight = self.tuning.shape_weight
            share = (raw - self.level) / rate if rate > 0 else 0.0
            self._shape_xy += weight * (offset * share - self._shape_xy)
            self._shape_xx += weight * (offset**2 - self._shape_xx)
        self.observe(raw - self.amplitude(rate) * offset, now, rate, capacity)

    def amplitude(self, rate: float) -> float:
        """How far the level falls through a server second (the refill less what others take at
        the boundary): what our answers show where they are placed in the second, else our rate."""
        if self._shape_xx < self.tuning.shape_evidence:
            return max(0.0, rate - self.others)
        return rate * min(1.0, max(0.0, self._shape_xy / self._shape_xx))

    def observe(
        self, estimate: float, now: float, rate: float, capacity: float, gain: float | None = None
    ) -> None:
        """The mean level now is about ``estimate``: move part of the way (``gain``, by default
        ``Tuning.pace_gain``: one answer is noisy, our requests reordered on the wire)."""
        self.advance(now, rate, capacity)
        self.level += (self.tuning.pace_gain if gain is None else gain) * (estimate - self.level)

    def measure(
        self,
        reading: Reading,
        now: float,
        limits: tuple[float, float],
        boundaries: Callable[[float, float], int | None],
    ) -> None:
        """Other programs' rate from the fall of ``remaining`` between two answers at least
        ``Tuning.others_window`` apart (dated by the server's handling) that our own grants and
        the refills between them do not explain, smoothed over ``Tuning.others_settle``. The
        refills are counted by ``boundaries`` where the server's second is known, else spread
        evenly (then each measurement is up to a refill off, and the smoothing must do more).

        A refill that met a nearly full bucket was partly lost to its capacity, which looks
        like others' draws: where no answer in the window showed room for a whole refill, the
        measurement is only an upper bound, and may lower the estimate but not raise it; and
        others took no more a second than the bucket was seen to fall below its capacity, where
        each refill leaves it at most (after a neighbour that took every refill stopped, a full
        bucket had kept others' rate at the refill, and the pacer sent one request a window)."""
        rate, capacity = limits
        window = self.tuning.others_window
        if now < self.next_measure:
            self._keep(reading, window)
            return
        self.next_measure = now + self.tuning.others_every
        # The base is the latest reading handled a window before this one; the lowest
        # ``remaining`` since is asked for below (both before this reading is kept).
        found = self.earliest.last_where(
            lambda earlier: reading.handled - earlier.handled >= window
        )
        number, base = (None, None) if found is None else found
        lowest = None if number is None else self.least.first_from(number + 1)
        self._keep(reading, window)
        if base is not None and reading.handled - base.handled > 2 * window:
            base = None  # a gap in the answers: the bucket may have filled meanwhile
        if base is None:
            # The smoothing starts at the first answer: one window's measurement is not yet
            # worth more than the window is of the settling time.
            self.measured_at = min(self.measured_at, reading.handled)
            return
        span = reading.handled - base.handled
        counted = boundaries(base.handled, reading.handled)
        refills = rate * (span if counted is None else counted)
        drawn = base.remaining - reading.remaining + refills - (reading.ours - base.ours)
        sample = min(rate, drawn / span)  # not raised to 0: the noise must average out
        least = (reading if lowest is None else lowest).remaining
        if least > capacity - rate:
            sample = min(sample, self.others, capacity - least)
        self._take_in(sample, now, window)

    def _take_in(self, sample: float, now: float, window: float) -> None:
        """Move others' rate towards a measurement ``sample``, which is worth the time since the
        last, but never more than a quarter of its window (measurements overlap; the first one,
        after a quiet start, is one of many). Until the measurements are worth the settling
        time, their time-weighted mean: smoothed from a prior of none, a neighbour's rate was
        taken a fifth of the way at a time and learnt over five seconds, the floor rising all
        the while."""
        elapsed = min(window / 4, max(0.0, now - self.measured_at))
        self.measured_for += elapsed
        weight = 1.0 - math.exp(-elapsed / self.tuning.others_settle)
        if self.measured_for > 0:
            weight = max(weight, elapsed / self.measured_for)
        self.samples += 1
        self.first_measured = min(self.first_measured, now)
        self.others = max(0.0, self.others + weight * (sample - self.others))
        self.measured_at = now

    def _keep(self, reading: Reading, window: float) -> None:
        """Keep ``reading``, and forget those more than two windows older: a measurement's base
        is never that old (a gap that long in the answers starts the measurement again)."""
        readings = self.readings
        number = self.forgotten + len(readings)
        readings.append(reading)
        self.earliest.add(number, reading)
        self.least.add(number, reading)
        while readings[0].handled < reading.handled - 2 * window:
            readings.popleft()
            self.earliest.forget(self.forgotten)
            self.least.forget(self.forgotten)
            self.forgotten += 1

    def learn_wire(self, shortest: float, longest: float, offset: float) -> None:
        """The spread and delay of recent round trips, and the offset of the latest answer's
        handling from its sending (smoothed)."""
        if math.isfinite(shortest) and longest >= shortest:
            self.spread = longest - shortest
            self.delay = longest
        weight = self.tuning.offset_weight if self.offset_known else 1.0
        self.offset += weight * (offset - self.offset)
        self.offset_known = True


_HANDLED: Callable[[Reading], float] = attrgetter("handled")
_REMAINING: Callable[[Reading], float] = attrgetter("remaining")
_SENT = itemgetter(0)
"""When a grant in ``Pacer.sends`` was made: the key they are ordered by."""


def _offset(at: float | None) -> float:
    """How many sawtooths the level stands above its mean line ``at`` into the server's second:
    half of one just after the boundary, half below just before it. Where the second is not known
    (``None``) as if just after a boundary: an answer taken for the mean there has the mean line's
    continuous rise spent from a bucket that does not refill until its boundary, and while the
    phase is unplaced answers fall anywhere in the second."""
    return 0.5 if at is None else 0.5 - at
