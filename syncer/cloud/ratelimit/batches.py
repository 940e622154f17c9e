"""On a slow wire, each refill goes as one batch, sent where in our own second it lands whole.

Where the bucket holds no more than about a refill (burst close to the rate, so not ``pacing``),
every refill must be spent within its own server second or it is lost to the cap. At a latency of
a second the answers come back a second late and cannot date the server's handling closely
enough to place its boundary (``Phase`` stays wide): the credits model then cannot prove that one
refill's requests were handled before the next boundary, and held every other refill back (half
the rate at 1 s, issue #16).

What matters there is not where the server's second begins but *when to send*: the moment of our
own second at which a refill's worth of requests, spread by the wire's jitter, is handled within
one server second. That moment is learnt from outcomes, which need no dating at all. Within one
server second the bucket only goes down, so the requests of a batch handled in one second show
distinct ``remaining`` values (per family: the buckets may be per family); a value seen twice
means a refill came between them, and a 429 means the batch met a bucket the previous one had
already drawn on. Such a batch's moment is doubted, old doubt fading, and batches go at the
moment furthest from every doubted one. A batch that lands whole shows how much other programs
took before it in the second (the refill less its highest ``remaining``); that share is left to
them from then on. After a pause (a moment passed with nothing of ours in flight), what the model
holds goes at once rather than at the next moment, charged to the batch after it (``take``).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field

from syncer.cloud.ratelimit.circle import apart, longest_run
from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning


@dataclass(eq=False, slots=True)
class Batch:
    """The requests granted at one sending moment, and what their answers showed."""

    moment: float
    offered: float
    """Tokens one server second offers (the refill, at most the capacity)."""
    allowance: float
    """Tokens the batch may take: what is offered less what other programs take."""
    early: bool = False
    """Sent off the chosen moment, as soon as asked, from what an idle bucket holds (``take``):
    it may land in the next batch's second, whose allowance it is then charged to."""
    last_answer: float = -math.inf
    """When its latest answer came (each request was handled by then)."""
    after_early: bool = False
    """Timed, with ``early`` batches sent since the timed one before it: one of them may have
    shared its second, so what it found there says nothing of other programs' take."""
    granted: float = 0.0
    unsettled: int = 0
    refused: int = 0
    repeated: bool = False
    top: float = -math.inf
    """The highest ``remaining`` an answer showed, with that request's cost added back."""
    seen: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """Per family: (seconds from the batch's moment to the answer, ``remaining``)."""

    def answer(
        self, now: float, family: str, cost: float, remaining: float | None, refused: bool
    ) -> None:
        self.unsettled -= 1
        self.last_answer = max(self.last_answer, now)
        if refused:
            self.refused += 1
            return
        if remaining is None:
            return
        answers = self.seen.setdefault(family, [])
        self.repeated = self.repeated or any(left == remaining for _, left in answers)
        answers.append((now - self.moment, remaining))
        self.top = max(self.top, remaining + cost)

    def cut(self) -> tuple[float, float, float] | None:
        """Where a refill cut the batch, as seconds from its moment to the answers: (the first
        answer, the cut, the last answer). The answers in the order they came back (about the
        order the server handled them) count down, and the refill is where they jump up most."""
        if not self.seen:
            return None
        most: list[tuple[float, float]] = max(self.seen.values(), key=len)
        answers = sorted(most)
        if len(answers) < 2:
            return None
        rise, at = max(
            (later[1] - earlier[1], index + 1)
            for index, (earlier, later) in enumerate(itertools.pairwise(answers))
        )
        if rise <= 0:
            return None
        return answers[0][0], (answers[at - 1][0] + answers[at][0]) / 2, answers[-1][0]

    @property
    def whole(self) -> bool:
        """Whether the batch was handled within one server second, as far as answers show."""
        return not self.repeated and not self.refused


@dataclass(slots=True)
class Batches:
    """When on our clock each batch goes, and how many tokens it takes."""

    tuning: Tuning = DEFAULT_TUNING
    doubt: list[float] = field(init=False)
    phase: float | None = None
    """The chosen sending moment, as a fraction of our second (``None`` before the first)."""
    others: float = 0.0
    """Tokens a second other programs take before our batch lands."""
    last_uncut: float = -math.inf
    """The moment of the last batch judged that no refill cut in two (no repeated value)."""
    confirmed: bool = False
    """Whether a batch sent at the chosen phase landed whole; until then batches take half their
    allowance, so that one landing across a boundary beside the next one overfills no second."""
    current: Batch | None = None
    timed: Batch | None = None
    """The last batch sent at a moment (not ``early``): the next one goes a second after it."""
    borrowed: list[Batch] = field(default_factory=list)
    """``early`` batches since ``timed``, charged to the next timed batch where they may share
    its second."""
    pending: deque[Batch] = field(default_factory=deque)
    """Batches granted and not yet judged (the last one may still be open)."""

    def __post_init__(self) -> None:
        self.doubt = [0.0] * self.tuning.batch_bins

    def take(
        self,
        now: float,
        cost: float,
        per_second: float,
        level: float,
        *,
        asked: float,
        idle: bool = False,
    ) -> Batch | float:
        """The batch a request of ``cost`` goes in now, or seconds to wait for the next one.
        ``per_second`` is what one server second offers (the refill, at most the capacity);
        ``level`` what the bucket holds now by the model, which the first batch spends (it is
        there now, and no earlier batch of ours can spill into its second). ``asked`` is when
        the request began to wait: waiters are handed their grants one at a time, and on a busy
        event loop the last of a large batch gets its turn after the grace; having waited for
        the batch, it still goes in it (up to ``Tuning.batch_late``).

        ``idle``: nothing of ours is in flight (so no batch of ours can land beside one sent
        now) and the caller's model has seen no other program lately. Then, after a pause (a
        moment passed with no batch), what the model holds goes at once instead of at the next
        moment: a list read after a pause waited up to a second for it, twice (for its first
        page, then for the rest), 1.8-2.4x the schedule's bound at 200/s where the bucket held
        the whole read. It goes as an ``early`` batch, charged to the allowance of the timed
        batch after it, into whose second it may spill. Not while other programs are seen to
        draw on the bucket: their take in this second is unknown off the moment."""
        batch = self.current
        if batch is not None and self._joins(batch, now, asked):
            if batch.granted + cost <= batch.allowance + self.tuning.tolerance:
                return self._grant(batch, cost)
            if not batch.early:
                return self._next_moment(batch.moment + self.tuning.batch_grace) - now
        return self._open(now, cost, per_second, level, idle=idle)

    def _open(
        self, now: float, cost: float, per_second: float, level: float, *, idle: bool
    ) -> Batch | float:
        """``take`` where no open batch has room: a new batch now (timed or ``early``), or
        seconds to wait for the next moment."""
        first = self.phase is None
        moment = self._next_moment(now)
        early = moment > now and self._paused(now, idle, level >= cost)
        if moment > now and not early:
            return moment - now
        after_early = bool(self.borrowed)
        if first or early:
            allowance = level
        else:
            allowance = per_second - self.others
            allowance /= 1 if self.confirmed else 2
            allowance -= self._owed(moment)
            self.borrowed.clear()
        allowance = math.floor(allowance + 0.25)
        if allowance < cost and after_early and not early:
            # The early batches took this second's share: the moment passes unused. The next
            # goes a second or more after them, apart as two timed batches are.
            self.timed = self.current = Batch(moment=moment, offered=per_second, allowance=0.0)
            return self._next_moment(moment + self.tuning.batch_grace) - now
        batch = self.current = Batch(
            moment=now if early else moment,
            offered=per_second,
            allowance=max(cost, allowance),
            early=early,
            after_early=after_early and not early,
        )
        if early:
            self.borrowed.append(batch)
        else:
            self.timed = batch
        self.pending.append(batch)
        self._judge_done(now)
        return self._grant(batch, cost)

    def _paused(self, now: float, idle: bool, covered: bool) -> bool:
        """Whether a request may go ``early``: nothing of ours in flight (``idle``), the model's
        level ``covered`` it, no other program seen, and a moment has passed unused since the
        last timed batch (a pause: while batches go at every moment, each refill is theirs)."""
        last = self.timed
        paused = last is None or now - last.moment >= 1.0 + self.tuning.batch_grace
        return idle and covered and paused and self.others < self.tuning.tolerance

    @staticmethod
    def _grant(batch: Batch, cost: float) -> Batch:
        batch.granted += cost
        batch.unsettled += 1
        return batch

    def _owed(self, moment: float) -> float:
        """What the ``early`` batches since the last timed one may take of the second of a
        batch sent at ``moment``: the grants of those not all answered a second before it (a
        request handled then is a second or more before any of that batch's)."""
        return sum(
            early.granted
            for early in self.borrowed
            if early.unsettled or early.last_answer > moment - 1.0
        )

    def _joins(self, batch: Batch, now: float, asked: float) -> bool:
        late = now - batch.moment
        tuning = self.tuning
        return late < tuning.batch_grace or (
            asked < batch.moment + tuning.batch_grace and late < tuning.batch_late
        )

    def _next_moment(self, now: float) -> float:
        """The next moment at the chosen phase whose grace has not passed at ``now``, and about
        a second after the last timed batch's at least: two batches must not share a server
        second, not even the first after the moment moved (an ``early`` one is charged to the
        next instead)."""
        if self.phase is None:
            self.phase = now % 1.0
            return now
        grace = self.tuning.batch_grace
        last = self.timed
        earliest = now if last is None else max(now, last.moment + 1.0 - grace)
        return self.phase + math.ceil(earliest - grace - self.phase)

    def settle(
        self,
        batch: Batch,
        now: float,
        family: str,
        cost: float,
        remaining: float | None,
        *,
        refused: bool,
    ) -> None:
        """An answer (``remaining`` ``None`` when it told nothing) for a grant of ``batch``."""
        batch.answer(now, family, cost, remaining, refused)
        self._judge_done(now)

    def _judge_done(self, now: float) -> None:
        """Judge the batches, oldest first, that take no more grants and are all answered."""
        grace = self.tuning.batch_grace
        while self.pending and self.pending[0].unsettled == 0:
            batch = self.pending[0]
            if batch is self.current and now < batch.moment + grace:
                return
            self.pending.popleft()
            self._judge(batch)

    def _judge(self, batch: Batch) -> None:
        tuning = self.tuning
        self.doubt = [d * tuning.batch_decay for d in self.doubt]
        # A second after a batch that no refill cut, no batch of ours shared this one's second:
        # what it held before our first request landed, other programs took.
        alone = abs(batch.moment - self.last_uncut - 1.0) < tuning.batch_grace
        alone = alone and not batch.early and not batch.after_early
        if not batch.repeated:
            self.last_uncut = batch.moment
            if alone and (math.isfinite(batch.top) or batch.refused):
                self._learn_others(batch)
        if batch.whole:
            self.confirmed = self.confirmed or self._at_phase(batch)
            return
        if alone and not batch.repeated and batch.top < batch.offered - self.tuning.tolerance:
            return  # it ran out where others took their share first: not the moment's fault
        self._doubt(batch.moment % 1.0)
        self._choose(*self._away_from_cut(batch))

    def _away_from_cut(self, batch: Batch) -> tuple[float | None, bool]:
        """The moment that puts a cut batch's answers as far from the refills as they can be,
        and whether that leaves room enough to trust it at once (``Tuning.batch_room``):
        moved by ``d``, they span ``[first + d, last + d]``, which lies between two refills for
        every ``d`` in an arc of width ``1 - (last - first)`` round ``middle + 0.5`` less their
        own middle; its centre leaves the most room for the wire to vary."""
        cut = batch.cut()
        if cut is None:
            return None, False
        first, middle, last = cut
        moment = (batch.moment + middle + 0.5 - (first + last) / 2) % 1.0
        return moment, 1.0 - (last - first) >= self.tuning.batch_room

    def _learn_others(self, batch: Batch) -> None:
        """Smoothed, as others' take varies from second to second; but a batch that ran out
        (429s) shows at least that much taken, and the next one must not run out again; one
        refused whole found everything taken (another syncer process's batch, say)."""
        taken = max(0.0, batch.offered - batch.top) if math.isfinite(batch.top) else batch.offered
        self.others += self.tuning.batch_others_gain * (taken - self.others)
        if batch.refused:
            self.others = max(self.others, taken)

    def _doubt(self, centre: float) -> None:
        bins = len(self.doubt)
        reach = self.tuning.batch_doubt_width
        for index in range(bins):
            if apart((index + 0.5) / bins, centre) <= reach:
                self.doubt[index] += 1.0

    def _at_phase(self, batch: Batch) -> bool:
        return apart(batch.moment, self.phase or 0.0) < 1.0 / len(self.doubt)

    def _choose(self, proposed: float | None, sure: bool) -> None:
        """Keep the chosen phase unless it is doubted; then the ``proposed`` one unless that is
        doubted too (confirmed at once where ``sure``); else the middle of the longest run of the
        least doubted bins."""
        bins = len(self.doubt)
        least = min(self.doubt)
        trusted = [d <= least + 0.5 for d in self.doubt]
        if self.phase is not None and trusted[int(self.phase * bins) % bins]:
            return
        self.confirmed = False
        if proposed is not None and trusted[int(proposed * bins) % bins]:
            self.phase, self.confirmed = proposed, sure
            return
        longest, longest_end = longest_run(trusted)
        self.phase = ((longest_end + 1 - longest / 2) / bins) % 1.0
