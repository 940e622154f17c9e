"""One adaptive rate limiter per API client, shared by every worker and every session.

The server runs Spring Cloud Gateway's token bucket (cloud-api.md section 2): ``rate`` tokens are
added at each whole second of the *server's* clock, up to ``capacity``; a request costing
``requested`` tokens passes when enough are left and is refused with 429 otherwise. Each response
reports the limits and what remained. The limiter keeps a model of that bucket on our own
monotonic clock and hands out tokens from the model, so workers wait *before* sending instead of
being refused.

How the model stays honest:

* **Credits at the server's second.** Where our clock's seconds are cut by the server's is a phase
  in [0, 1). It starts provisional (the arrival of the first response: every later interval of one
  second then contains exactly one server boundary, so crediting at its end is always safe) and is
  narrowed by windows that certainly contain a boundary: a response whose ``remaining`` is higher
  than an earlier, certainly-earlier-processed response allows. Tokens are credited at the late
  end of the phase estimate, so the model never spends a token before the server has it.
* **Refills seen early.** However full the bucket was at a boundary, the refill leaves at least
  ``min(capacity, rate)`` for what comes after it, so a credit never adds less than that minus our
  grants that may have come after the boundary; answers counting down without a gap from an exact
  ``remaining`` prove the level the refill met. A response that shows a refill the model has not
  credited yet takes that credit at once: its tokens are used now, and waiting workers wake for
  them, instead of being left to the cap of the next refill.
* **Reconciling with ``remaining``.** Every response bounds what the server holds now: at most
  ``remaining`` minus what we granted after that request (plus credits since it was sent), at
  least ``remaining`` minus everything still in flight. The model goes down to the upper bound at
  once and up to the lower bound only; a lower bound that might include a refill the model has
  yet to credit is reduced by one refill.
* **Other programs.** What the model loses to those corrections is consumption nobody here made
  (another program on the same API client); its rate is tracked and withheld from each credit,
  so we take the share that is actually left instead of racing for it.
* **Two waves.** Until two credits in a row check out, half of each credit waits for the answers
  to the other half: a program taking its share right after the refill shows up there, before
  the second wave asks for tokens that are gone.
* **Partition.** The server may keep one bucket for everything or one per route family. Within
  one server second a shared bucket only goes down, so two families' responses never report the
  same ``remaining``; separate buckets do so all the time. Evidence decides; buckets split per
  family (and merge back) accordingly.
* **No headers.** Without limits in the responses the bucket falls back to AIMD pacing on 429s;
  429s arriving together count as one cut.
* **429.** The bucket (all its workers together) pauses until the next credit, or for a capped
  ``Retry-After``. Waiters queue on one lock per bucket, so one sleeper wakes at a time: no herd.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import anyio

from syncer.clock import Clock
from syncer.cloud.headers import RateHeaders

SHARED = "*"
"""Bucket key while every family shares one bucket."""

CREDIT_MARGIN = 0.005
"""Seconds added after the latest possible server boundary before crediting its tokens."""
_SAME_CREDIT = 0.5
"""Two credit times closer than this stand for the same server boundary (phase estimate moved)."""
_TOLERANCE = 0.5
"""Header values are whole numbers; anything closer than this is equal."""
_MIN_SLEEP = 1e-3
"""Shorter waits are rounded up: a clock far from its epoch cannot add less, and it is noise."""
_PHASE_BINS = 250
_PHASE_DECAY = 0.995
_PROBE_WIDTH = 0.05
"""While the phase estimate is wider than this, one token a second probes inside the arc."""
_COSTLY_PROBE_WIDTH = 0.5
"""The same where the held token costs a refill's worth (burst < rate + cost): a wide arc only
delays each credit a little, a token held through the refill is lost to the cap every second."""
_EVIDENCE_TO_SWITCH = 5.0
_EVIDENCE_DECAY = 0.8
_SHARED_WEIGHT = 0.5
_RECENT = 64
_EXTERNAL_WEIGHT = 1.0
"""Share of a proven loss (a 429, or an exact response) added to the other program's rate."""
_FOUND_WEIGHT = 0.3
"""Share of tokens found above the model taken off it: a lower bound may count a refill the model
has not credited yet, so it is weaker evidence and must not undo a proven share at once."""
_CHECKED_CREDITS = 2
"""Credits spent in two waves (half, then the rest once the first half is answered) until this
many in a row check out: another program taking its share right after each refill shows up in the
first wave's answers, before the second wave asks for tokens that are no longer there."""
_AIMD_START = 1.0
_AIMD_FLOOR = 0.25
_AIMD_COOLDOWN = 1.0


@dataclass(eq=False, slots=True)
class Grant:
    """Permission to send one request; hand it back through ``observe`` or ``release``."""

    family: str
    cost: float
    sent: float
    bucket: _Bucket
    granted_before: float
    """The bucket's cumulative granted cost before this grant (orders grants within a bucket)."""
    in_flight_before: float
    """Cost of the bucket's grants in flight when this one was made (may be processed after it)."""
    settled: bool = False


@dataclass(frozen=True, slots=True)
class _Observation:
    sent: float
    recv: float
    remaining: float
    answered: float
    """The bucket's cumulative cost of grants answered by ``recv``: every grant beyond it may be
    processed by the server after this one."""


@dataclass(slots=True)
class _Chain:
    """Answers since a response that showed the server's level exactly.

    Within a server second the level only goes down, by each request's cost; a refill in between
    adds at least one request's worth (the first answer left room). So when every grant since is
    answered and the lowest ``remaining`` is exactly the top less their cost, no refill came
    between them, and the next boundary met the bucket at that lowest level.
    """

    top: float
    granted_before: float
    low: float
    answered: float = 0.0

    def add(self, grant: Grant, remaining: float) -> None:
        if grant.granted_before >= self.granted_before:
            self.low = min(self.low, remaining)
            self.answered += grant.cost

    def level_before_refill(self, bucket: _Bucket) -> float | None:
        """The level the next boundary met, when the chain proves it."""
        complete = bucket.in_flight == 0 and bucket.granted - self.granted_before == self.answered
        unbroken = abs(self.low - (self.top - self.answered)) < _TOLERANCE
        return self.low if complete and unbroken else None


@dataclass(frozen=True, slots=True)
class _FamilyObservation:
    family: str
    second: int
    remaining: float


@dataclass(eq=False, slots=True)
class _Bucket:
    """Our model of one server-side bucket."""

    key: str
    rate: float = 0.0
    capacity: float = 0.0
    tokens: float = 0.0
    known: bool = False
    aimd: bool = False
    retired: bool = False
    last_credit: float = -math.inf
    credits: deque[float] = field(default_factory=lambda: deque(maxlen=8))
    levels: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=_RECENT * 4))
    """Recent (time, tokens after a change) of the model."""
    granted: float = 0.0
    granted_at_credit: float = 0.0
    """``granted`` when the last refill was credited: what we took since then is not there."""
    in_flight: int = 0
    in_flight_cost: float = 0.0
    paused_until: float = -math.inf
    limits_changed_at: float = -math.inf
    external_this_second: float = 0.0
    external_rate: float = 0.0
    recent: deque[_Observation] = field(default_factory=lambda: deque(maxlen=_RECENT))
    chain: _Chain | None = None
    """Answers since an exact ``remaining`` (a response with nothing else in flight)."""
    basis: _Observation | None = None
    """The response whose ``remaining`` the model's refills were last set from (the first one, or
    one that proved a refill before its credit was due); ``None`` after a credit."""
    blocked_probe_at: float = -math.inf
    """When credits cannot cover a request, the next time one may be sent anyway."""
    probe_at: float = -math.inf
    """Until then the last token is held back, to be sent inside the next boundary's arc."""
    reserve: float = 0.0
    """Tokens held back after an unchecked credit until the first wave's answers are in."""
    checked_credits: int = 0
    """Credits in a row whose first wave found the server holding what the model said."""
    aimd_rate: float = _AIMD_START
    aimd_next: float = -math.inf
    aimd_last_cut: float = -math.inf
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    changed: anyio.Event = field(default_factory=anyio.Event)

    def set_tokens(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.levels.append((at, tokens))

    def peak_since(self, moment: float) -> float:
        """The most tokens the model held from ``moment`` until now."""
        peak = self.tokens
        for at, tokens in reversed(self.levels):
            peak = max(peak, tokens)
            if at <= moment:
                break
        return peak

    def unanswered_at(self, moment: float) -> float:
        """Cost of the grants not answered by ``moment``, so possibly processed after it (all of
        them when the recent responses do not reach back that far)."""
        for seen in reversed(self.recent):
            if seen.recv <= moment:
                return self.granted - seen.answered
        return self.granted

    def notify(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()


@dataclass(frozen=True, slots=True)
class LimiterStats:
    """What the limiter has learned, for run statistics and the benchmark."""

    partition: str
    rate: float | None
    burst: float | None
    cost: float | None
    external_rate: float
    aimd: bool
    phase_width: float | None


class _Phase:
    """Where the server's whole seconds begin on our monotonic clock.

    The phase of [0, 1) is cut into bins; each piece of evidence ("a boundary lies in this window",
    "no boundary lies in that one") adds doubt to the bins it rules out, old doubt fading slowly so
    that a server clock that moves is followed. The estimate is the arc of least-doubted bins;
    until evidence arrives it is the whole second ending at the first response (``assume``).
    """

    def __init__(self) -> None:
        self._anchor: float | None = None
        self._doubt = [0.0] * _PHASE_BINS
        self.start = 0.0
        self.width = 1.0

    @property
    def known(self) -> bool:
        return self._anchor is not None

    @property
    def provisional(self) -> bool:
        return self.width >= 1.0

    def assume(self, moment: float) -> None:
        """First response: a boundary surely lies in every one-second interval ending at
        ``moment + k``, so crediting there is safe until better evidence arrives."""
        if self._anchor is None:
            self._anchor = moment % 1.0
            self.start = self._anchor - 1.0

    def boundary_in(self, after: float, before: float) -> None:
        if 0 < before - after < 1.0:
            self._weigh(after, before, doubt_inside=False)

    def no_boundary_in(self, after: float, before: float) -> None:
        if 0 < before - after < 1.0:
            self._weigh(after, before, doubt_inside=True)

    def _weigh(self, after: float, before: float, *, doubt_inside: bool) -> None:
        span = before - after
        for index in range(_PHASE_BINS):
            centre = (index + 0.5) / _PHASE_BINS
            inside = (centre - after) % 1.0 < span
            self._doubt[index] *= _PHASE_DECAY
            if inside is doubt_inside:
                self._doubt[index] += 1.0
        self._derive()

    def _derive(self) -> None:
        """The arc is everything outside the longest run of doubted bins."""
        least = min(self._doubt)
        doubted = [d > least + 0.5 for d in self._doubt]
        if not any(doubted):
            return
        longest, longest_end, run = 0, 0, 0
        for index in range(2 * _PHASE_BINS):  # twice round, for a run that wraps
            run = run + 1 if doubted[index % _PHASE_BINS] else 0
            if run > longest:
                longest, longest_end = min(run, _PHASE_BINS), index % _PHASE_BINS
        self.start = ((longest_end + 1) % _PHASE_BINS) / _PHASE_BINS
        self.width = (_PHASE_BINS - longest) / _PHASE_BINS

    def credit_after(self, moment: float) -> float:
        """The first credit time (late end of the arc plus margin) not before ``moment``."""
        late = self.start + self.width + CREDIT_MARGIN
        return late + math.ceil(moment - late)

    def next_credit(self, last_credit: float) -> float:
        """The credit that follows ``last_credit`` (credits closer than half a second apart stand
        for the same server boundary, seen through an estimate that has since moved)."""
        return self.credit_after(last_credit + _SAME_CREDIT)

    def earliest_next_boundary(self, last_credit: float) -> float:
        """The earliest the server boundary of the next credit can happen."""
        return self.next_credit(last_credit) - CREDIT_MARGIN - self.width


def _note_credit(bucket: _Bucket, moment: float) -> None:
    """The bookkeeping of a credit, whether ``_credit`` counted it or a response showed it:
    what was granted before it is not in the bucket any more, and the evidence gathered for the
    refill it stands for (the basis, the chain of answers) is spent."""
    bucket.last_credit = moment
    bucket.granted_at_credit = bucket.granted
    bucket.credits.append(moment)
    bucket.basis = None
    bucket.chain = None


class RateLimiter:
    """Paces requests to the server's token bucket(s), learned from the response headers."""

    def __init__(self, clock: Clock, *, retry_after_cap: float = 60.0) -> None:
        self._clock = clock
        self._retry_after_cap = retry_after_cap
        self._phase = _Phase()
        self._split = False
        self._buckets: dict[str, _Bucket] = {SHARED: _Bucket(SHARED)}
        self._family_cost: dict[str, float] = {}
        self._family_seen: deque[_FamilyObservation] = deque(maxlen=_RECENT)
        self._split_evidence = 0.0
        self._shared_evidence = 0.0
        self._limits: tuple[float, float] | None = None

    # -- public -------------------------------------------------------------------------------

    async def acquire(self, family: str) -> Grant:
        """Wait until the model allows one request of ``family`` and take its tokens."""
        while True:
            bucket = self._bucket_for(family)
            async with bucket.lock:
                while not bucket.retired:
                    now = self._clock.monotonic()
                    wait = self._try_take(bucket, family, now)
                    if isinstance(wait, Grant):
                        return wait
                    if wait is None:
                        await bucket.changed.wait()
                    else:
                        await self._sleep_unless_changed(bucket, max(wait, _MIN_SLEEP))

    async def _sleep_unless_changed(self, bucket: _Bucket, seconds: float) -> None:
        """Sleep until the model's next credit, or until a response changes the model: one may
        prove tokens there before the credit is due (a refill seen early), and those are used at
        once rather than left to the cap of the next refill."""
        changed = bucket.changed
        async with anyio.create_task_group() as tg:

            async def wake_on_change() -> None:
                await changed.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(wake_on_change)
            await self._clock.sleep(seconds)
            tg.cancel_scope.cancel()

    def observe(self, grant: Grant, status: int, headers: RateHeaders) -> None:
        """Learn from the response to ``grant`` (any status, including 429)."""
        if not self._settle(grant):
            return
        bucket = grant.bucket
        now = self._clock.monotonic()
        throttled = status == 429
        if headers.failed_open:
            pass  # the server's limiter failed open: keep what we know
        elif headers.has_limits:
            self._learn(grant, bucket, headers, now, throttled)
        elif not bucket.known:
            bucket.aimd = True
            if throttled:
                self._aimd_cut(bucket, now)
            else:
                bucket.aimd_rate += 1.0 / bucket.aimd_rate
        if throttled:
            self._pause(bucket, now, headers.retry_after)
        self._answered(bucket)

    @staticmethod
    def _answered(bucket: _Bucket) -> None:
        """After any answer: when it was the last of a credit's first wave, the model now agrees
        with the server, and the credit checks out if nothing went missing (no other program took
        a share the model did not withhold). The second wave goes either way, sized by the
        corrected model. Then the waiting workers look again."""
        if bucket.reserve and not bucket.in_flight:
            checked = bucket.external_this_second < _TOLERANCE
            bucket.checked_credits = bucket.checked_credits + 1 if checked else 0
            bucket.reserve = 0.0
        bucket.notify()

    def release(self, grant: Grant) -> None:
        """The request got no response (connection error): assume its tokens were spent."""
        if self._settle(grant):
            self._answered(grant.bucket)

    @property
    def stats(self) -> LimiterStats:
        buckets = [b for b in self._buckets.values() if b.known]
        costs = list(self._family_cost.values())
        return LimiterStats(
            partition="per-family" if self._split else "shared",
            rate=sum(b.rate for b in buckets) if buckets else None,
            burst=sum(b.capacity for b in buckets) if buckets else None,
            cost=max(costs) if costs else None,
            external_rate=sum(b.external_rate for b in buckets),
            aimd=any(b.aimd for b in self._buckets.values()),
            phase_width=None if self._phase.provisional else self._phase.width,
        )

    # -- taking tokens ------------------------------------------------------------------------

    def _bucket_for(self, family: str) -> _Bucket:
        key = family if self._split else SHARED
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(key)
            if self._limits is not None:
                bucket.rate, bucket.capacity = self._limits
        return bucket

    def _try_take(self, bucket: _Bucket, family: str, now: float) -> Grant | float | None:
        """A grant, or seconds to sleep, or ``None`` to wait for the next response."""
        if now < bucket.paused_until:
            return bucket.paused_until - now
        cost = self._family_cost.get(family, 1.0)
        if bucket.aimd and not bucket.known:
            if now < bucket.aimd_next:
                return bucket.aimd_next - now
            bucket.aimd_next = max(now, bucket.aimd_next) + 1.0 / bucket.aimd_rate
        elif not bucket.known:
            if bucket.in_flight:
                return None  # one probe at a time until the first headers arrive
        else:
            self._credit(bucket, now)
            if now < bucket.probe_at and bucket.tokens >= cost - 1e-9 > bucket.tokens - cost:
                return bucket.probe_at - now  # the last token waits to probe the phase
            if bucket.tokens - cost < bucket.reserve - 1e-9 and bucket.in_flight:
                return None  # the second wave waits for the first one's answers
            if bucket.tokens < cost - 1e-9:
                if bucket.capacity >= cost and self._gain(bucket) > 0:
                    return self._phase.next_credit(bucket.last_credit) - now
                # Credits alone will never cover this request (no capacity, or everything taken
                # by others): probe once a second, so that changed limits are noticed.
                if bucket.in_flight:
                    return None
                if now < bucket.blocked_probe_at:
                    return bucket.blocked_probe_at - now
                bucket.blocked_probe_at = now + 1.0
                bucket.set_tokens(cost, now)
            bucket.set_tokens(bucket.tokens - cost, now)
        return self._grant(bucket, family, cost, now)

    def _grant(self, bucket: _Bucket, family: str, cost: float, now: float) -> Grant:
        grant = Grant(
            family=family,
            cost=cost,
            sent=now,
            bucket=bucket,
            granted_before=bucket.granted,
            in_flight_before=bucket.in_flight_cost,
        )
        bucket.granted += cost
        bucket.in_flight += 1
        bucket.in_flight_cost += cost
        return grant

    def _credit(self, bucket: _Bucket, now: float) -> None:
        """Add the refills of the server boundaries that have surely passed since the last one."""
        if not self._phase.known:
            return
        moment = self._phase.next_credit(bucket.last_credit)
        while moment <= now:
            # What the model lost (or found) since the last credit is what the withheld share
            # missed: integrate it (before this credit uses it), so the share settles where
            # nothing is unexplained any more.
            bucket.external_rate = min(
                bucket.rate,
                max(0.0, bucket.external_rate + bucket.external_this_second),
            )
            bucket.external_this_second = 0.0
            # The refill happened somewhere in the arc; if the bucket was (nearly) full then, the
            # server capped it, so credit only the room there was at the fullest moment.
            arc_start = moment - CREDIT_MARGIN - self._phase.width
            peak = bucket.peak_since(arc_start)
            gain = self._gain(bucket, room=max(0.0, bucket.capacity - peak))
            # However full the bucket was, the refill left at least min(capacity, rate) (less the
            # other program's take) for what the server processed after it: at most our grants
            # not answered before the arc began. With burst <= rate this is the whole bucket.
            floor = self._gain(bucket, room=bucket.capacity) - bucket.unanswered_at(arc_start)
            # An unbroken chain of answers proves the level the refill met: no guessing needed.
            level = None if bucket.chain is None else bucket.chain.level_before_refill(bucket)
            if level is not None:
                floor = max(floor, self._gain(bucket, room=bucket.capacity - level))
            bucket.set_tokens(max(floor, min(bucket.capacity, bucket.tokens + gain)), moment)
            if bucket.checked_credits < _CHECKED_CREDITS:
                bucket.reserve = math.floor(bucket.tokens / 2)
            _note_credit(bucket, moment)
            probe_width = (
                _PROBE_WIDTH
                if bucket.capacity - bucket.rate >= self._largest_cost()
                else _COSTLY_PROBE_WIDTH
            )
            if self._phase.width > probe_width and bucket.tokens >= 2 * self._largest_cost():
                # Only with a partner sent at the credit: a probe alone has no response within
                # one second to compare with, and holding it back would then cost a token a
                # second for nothing (a capacity of two stayed at one request a second).
                bucket.probe_at = moment + 1.0 - CREDIT_MARGIN - self._phase.width / 2
            moment += 1.0

    def _largest_cost(self) -> float:
        return max(self._family_cost.values(), default=1.0)

    @staticmethod
    def _gain(bucket: _Bucket, room: float = math.inf) -> float:
        """Tokens one credit adds for us: the refill (no more than the ``room`` the bucket had
        for it) less what other programs take of it."""
        # Whole tokens, rounded up from a quarter: the server's bucket and the other program deal
        # in whole tokens, and withholding too little costs a 429 every second.
        taken = math.floor(bucket.external_rate + 0.75)
        return max(0.0, min(bucket.rate, room) - taken)

    def _settle(self, grant: Grant) -> bool:
        if grant.settled:
            return False
        grant.settled = True
        grant.bucket.in_flight -= 1
        grant.bucket.in_flight_cost -= grant.cost
        return True

    # -- learning -----------------------------------------------------------------------------

    def _learn(
        self, grant: Grant, bucket: _Bucket, headers: RateHeaders, now: float, throttled: bool
    ) -> None:
        assert headers.replenish_rate is not None
        assert headers.remaining is not None
        remaining = headers.remaining
        if headers.requested is not None and headers.requested > 0:
            self._family_cost[grant.family] = headers.requested
        rate = headers.replenish_rate
        capacity = headers.burst_capacity if headers.burst_capacity is not None else rate
        if (rate, capacity) != (bucket.rate, bucket.capacity):
            if bucket.known:
                bucket.limits_changed_at = now
                bucket.checked_credits = 0
            bucket.rate, bucket.capacity = rate, capacity
        self._limits = (rate, capacity)
        bucket.aimd = False
        consumed = 0.0 if throttled else grant.cost
        self._phase.assume(now)
        if bucket.retired:
            return
        if not bucket.known:
            bucket.known = True
            bucket.set_tokens(max(0.0, min(capacity, remaining - bucket.in_flight_cost)), now)
            bucket.last_credit = self._first_credit(now)
            refilled = True  # the model's refills are what this response held
        else:
            before = self._locate_boundary(bucket, grant, now, remaining, consumed)
            refilled = before is not None and self._credit_seen_refill(bucket, before, now)
            self._credit(bucket, now)
            self._reconcile(bucket, grant, now, remaining, throttled, explained=refilled)
        seen = _Observation(grant.sent, now, remaining, bucket.granted - bucket.in_flight_cost)
        bucket.recent.append(seen)
        if refilled:
            bucket.basis = seen
        self._follow_chain(bucket, grant, remaining, throttled, exact=refilled)
        if not throttled:
            self._weigh_partition(grant, now, remaining)

    @staticmethod
    def _follow_chain(
        bucket: _Bucket, grant: Grant, remaining: float, throttled: bool, *, exact: bool
    ) -> None:
        """Start a chain at a response that holds the model's refills and had nothing else in
        flight (its ``remaining`` is the level); extend it with later answers; a 429 breaks it."""
        if throttled:
            bucket.chain = None
        elif exact and bucket.in_flight == 0:
            bucket.chain = _Chain(top=remaining, granted_before=bucket.granted, low=remaining)
        elif bucket.chain is not None:
            bucket.chain.add(grant, remaining)

    def _first_credit(self, now: float) -> float:
        """The credit a fresh model counts as already in ``remaining``: the one at about ``now``
        (a refill between the server's processing and ``now`` is then missed, never doubled)."""
        return self._phase.credit_after(now - 2 * CREDIT_MARGIN)

    def _locate_boundary(
        self, bucket: _Bucket, grant: Grant, now: float, remaining: float, consumed: float
    ) -> _Observation | None:
        """Compare with responses processed surely before this one (received before it was sent).

        Higher ``remaining`` than the latest-sent of them allows means a refill in between: a
        boundary lies between that one's sending and now, and that response is returned. Lower
        than a refill after the latest of them could leave (even if every grant not yet answered
        was processed in between) means no boundary lay between its arrival and our sending.
        """
        if now - bucket.limits_changed_at < 2.0:
            return None
        earlier = [s for s in bucket.recent if now - 1.0 < s.sent and s.recv <= grant.sent]
        if not earlier:
            return None
        refilled = [s for s in earlier if remaining > s.remaining - consumed + _TOLERANCE]
        if refilled:
            latest = max(refilled, key=lambda seen: seen.sent)
            self._phase.boundary_in(latest.sent, now)
            return latest
        last = max(earlier, key=lambda seen: seen.recv)
        # Grants answered before ``last`` arrived were surely processed before the window; any
        # other (granted earlier and still unanswered then, or granted since) may have taken its
        # token after a boundary in the window.
        others = bucket.granted - last.answered - grant.cost
        # Another program on the bucket may take its share right after the refill.
        taken = math.ceil(bucket.external_rate)
        least_after_refill = min(bucket.capacity, bucket.rate) - taken - others - consumed
        if remaining < least_after_refill - _TOLERANCE:
            self._phase.no_boundary_in(last.recv, grant.sent)
        return None

    def _credit_seen_refill(self, bucket: _Bucket, before: _Observation, now: float) -> bool:
        """A response shows a refill since ``before``: when the model does not hold it yet, count
        its credit as taken now and let ``_reconcile`` raise the model to what the response proves
        is there. Returns whether it did.

        Waiting for the credit instead would leave those tokens to the cap of the next refill, and
        the credit, guessing the bucket full at the boundary (the room at the fullest moment of a
        wide arc), would add nothing: with burst equal to the rate, a second lost in two.
        """
        if not self._holds_refills_after(bucket, before):
            return False
        moment = self._phase.credit_after(before.sent)
        if moment - CREDIT_MARGIN - self._phase.width >= now:
            return False  # the estimate puts no boundary in the window: evidence to weigh only
        if moment <= bucket.last_credit:
            return False  # the estimate has that boundary's refill credited already
        _note_credit(bucket, moment)
        return True

    @staticmethod
    def _holds_refills_after(bucket: _Bucket, seen: _Observation) -> bool:
        """Whether the model holds no refill of a boundary later than ``seen``'s processing.

        After a credit the model holds refills up to the credit's boundary; after the first
        response (or one that proved a refill), exactly those in ``bucket.basis``.
        """
        if seen.sent >= bucket.last_credit - CREDIT_MARGIN:
            return True
        basis = bucket.basis
        return basis is not None and (seen is basis or seen.sent >= basis.recv)

    def _reconcile(
        self,
        bucket: _Bucket,
        grant: Grant,
        now: float,
        remaining: float,
        throttled: bool,
        *,
        explained: bool = False,
    ) -> None:
        """Move the model towards what ``remaining`` says the server holds.

        The lower bound counts every grant that may have been processed after this one, so it is
        safe to rise to. The upper bound is ``remaining`` plus the refills credited since: within
        a server second the bucket only goes down, so the server never holds more, whatever the
        order it processed our grants in. A 429 took nothing, so its tokens go back first; grants
        the server processes after it in the same second are refused too and counted when their
        own 429 arrives. What the model loses to the upper bound was taken by another program on
        the same API client, whose rate is then withheld from each credit.
        """
        granted_after = bucket.granted - grant.granted_before - grant.cost
        refills = bucket.rate * sum(1 for c in bucket.credits if c > grant.sent)
        lower = remaining - granted_after - grant.in_flight_before
        if now > self._phase.earliest_next_boundary(bucket.last_credit):
            lower -= bucket.rate  # the response may already include a refill not yet credited
        # Nor can the server hold more than a full bucket less what we took since its last refill
        # (a bucket Spring never stores, capacity / rate < 0.5, reports itself full throughout).
        lower = min(lower, bucket.capacity - (bucket.granted - bucket.granted_at_credit))
        learning = now - bucket.limits_changed_at >= 2.0
        if throttled:
            bucket.set_tokens(bucket.tokens + grant.cost, now)
        upper = min(bucket.capacity, remaining + refills)
        if bucket.tokens > upper + _TOLERANCE:
            if learning:
                bucket.external_this_second += _EXTERNAL_WEIGHT * (bucket.tokens - upper)
            bucket.set_tokens(upper, now)
        elif bucket.tokens < lower - _TOLERANCE:
            if not explained:
                bucket.external_this_second -= _FOUND_WEIGHT * (lower - bucket.tokens)
            bucket.set_tokens(lower, now)

    def _pause(self, bucket: _Bucket, now: float, retry_after: float | None) -> None:
        if retry_after is not None:
            until = now + min(retry_after, self._retry_after_cap)
        elif bucket.known and self._phase.known:
            until = self._phase.credit_after(now)
        else:
            until = now + 1.0 / max(bucket.aimd_rate, _AIMD_FLOOR)
        bucket.paused_until = max(bucket.paused_until, until)

    def _aimd_cut(self, bucket: _Bucket, now: float) -> None:
        if now - bucket.aimd_last_cut >= _AIMD_COOLDOWN:
            bucket.aimd_rate = max(_AIMD_FLOOR, bucket.aimd_rate / 2.0)
            bucket.aimd_last_cut = now

    # -- partition ----------------------------------------------------------------------------

    def _weigh_partition(self, grant: Grant, now: float, remaining: float) -> None:
        """Within one server second a shared bucket only goes down, so no two successful responses
        can report the same ``remaining``; buckets of their own per family do that all the time.
        Equal values across families are evidence of a split; distinct ones, weakly, of one bucket.
        """
        second = self._second_of(grant.sent, now)
        if second is None:
            return
        current = _FamilyObservation(grant.family, second, remaining)
        others = [
            seen
            for seen in self._family_seen
            if seen.second == second and seen.family != grant.family
        ]
        self._family_seen.append(current)
        if not others:
            return
        if any(abs(seen.remaining - remaining) < _TOLERANCE for seen in others):
            self._split_evidence += 1.0
            self._shared_evidence *= _EVIDENCE_DECAY
        else:
            self._shared_evidence += _SHARED_WEIGHT
            self._split_evidence *= _EVIDENCE_DECAY
        self._repartition()

    def _second_of(self, sent: float, received: float) -> int | None:
        """Which of our credit intervals the request was surely processed in, if any."""
        if self._phase.provisional:
            return None
        credit = self._phase.credit_after(sent)
        if credit > sent:
            credit -= 1.0  # the last credit at or before the sending
        next_boundary = credit + 1.0 - CREDIT_MARGIN - self._phase.width
        return math.floor(credit) if received < next_boundary else None

    def _repartition(self) -> None:
        if not self._split and self._split_evidence >= max(
            _EVIDENCE_TO_SWITCH, 2 * self._shared_evidence
        ):
            self._become(split=True)
        elif self._split and self._shared_evidence >= max(
            _EVIDENCE_TO_SWITCH, 2 * self._split_evidence
        ):
            self._become(split=False)

    def _become(self, *, split: bool) -> None:
        """Replace the buckets; in-flight grants settle against their retired bucket, and each new
        bucket starts with a probe, as the first one did."""
        self._split = split
        self._split_evidence = self._shared_evidence = 0.0
        for bucket in self._buckets.values():
            bucket.retired = True
            bucket.notify()
        self._buckets = {}
