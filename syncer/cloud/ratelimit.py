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
* **Reconciling with ``remaining``.** Every response bounds what the server holds now: at most
  ``remaining`` minus what we granted after that request (plus credits since it was sent), at
  least ``remaining`` minus everything still in flight. The model goes down to the upper bound at
  once and up to the lower bound only; a lower bound that might include a refill the model has
  yet to credit is reduced by one refill.
* **Other programs.** What the model loses to those corrections is consumption nobody here made
  (another program on the same API client); its rate is tracked and withheld from each credit,
  so we take the share that is actually left instead of racing for it.
* **Partition.** The server may keep one bucket for everything or one per route family. Pairs of
  responses of one family, with another family's grants between them, tell which: with one bucket
  ``remaining`` drops by the other family's consumption too. Evidence decides; buckets split per
  family (and merge back) accordingly.
* **No headers.** Without limits in the responses the bucket falls back to AIMD pacing on 429s;
  429s arriving together count as one cut.
* **429.** The bucket (all its workers together) pauses until the next credit, or for a capped
  ``Retry-After``. Waiters queue on one lock per bucket, so one sleeper wakes at a time: no herd.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
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
_EVIDENCE_TO_SWITCH = 3.0
_EVIDENCE_DECAY = 0.8
_RECENT = 64
_EXTERNAL_WEIGHT = 0.4
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
    total_before: float
    family_before: float
    settled: bool = False


@dataclass(frozen=True, slots=True)
class _Observation:
    sent: float
    recv: float
    remaining: float


@dataclass(frozen=True, slots=True)
class _FamilyObservation:
    sent: float
    recv: float
    remaining: float
    total_after: float
    family_after: float


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
    granted: float = 0.0
    in_flight: int = 0
    in_flight_cost: float = 0.0
    paused_until: float = -math.inf
    limits_changed_at: float = -math.inf
    external_this_second: float = 0.0
    external_rate: float = 0.0
    recent: deque[_Observation] = field(default_factory=lambda: deque(maxlen=_RECENT))
    probe_at: float = -math.inf
    aimd_rate: float = _AIMD_START
    aimd_next: float = -math.inf
    aimd_last_cut: float = -math.inf
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    changed: anyio.Event = field(default_factory=anyio.Event)

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
    """Where the server's whole seconds begin on our monotonic clock (an arc of [0, 1))."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.width = 1.0
        self.provisional = True

    @property
    def known(self) -> bool:
        return self.start is not None

    def assume(self, moment: float) -> None:
        """First response: a boundary surely lies in every one-second interval ending at
        ``moment + k``, so crediting there is safe until better evidence arrives."""
        if self.start is None:
            self.start = moment % 1.0 - 1.0
            self.width = 1.0

    def narrow(self, after: float, before: float) -> None:
        """A server boundary lies in (``after``, ``before``)."""
        span = before - after
        if span >= 1.0 or span < 0:
            return
        window_start = after % 1.0
        if self.start is None or self.provisional:
            self.start, self.width, self.provisional = window_start, span, False
            return
        best: tuple[float, float] | None = None
        for shift in (-1.0, 0.0, 1.0):
            low = max(self.start, window_start + shift)
            high = min(self.start + self.width, window_start + shift + span)
            if high >= low and (best is None or high - low > best[1]):
                best = (low, high - low)
        # An empty intersection means the server's clock moved: trust the newest evidence.
        self.start, self.width = best or (window_start, span)
        self.start %= 1.0

    def credit_after(self, moment: float) -> float:
        """The first credit time (late end of the arc plus margin) not before ``moment``."""
        assert self.start is not None
        late = self.start + self.width + CREDIT_MARGIN
        return late + math.ceil(moment - late)

    def earliest_boundary_after(self, credit: float) -> float:
        """The earliest the server's next boundary can be, after the one credited at ``credit``."""
        return credit + 1.0 - self.width - CREDIT_MARGIN


class RateLimiter:
    """Paces requests to the server's token bucket(s), learned from the response headers."""

    def __init__(self, clock: Clock, *, retry_after_cap: float = 60.0) -> None:
        self._clock = clock
        self._retry_after_cap = retry_after_cap
        self._phase = _Phase()
        self._split = False
        self._buckets: dict[str, _Bucket] = {SHARED: _Bucket(SHARED)}
        self._family_cost: dict[str, float] = {}
        self._family_granted: dict[str, float] = {}
        self._family_last: dict[str, _FamilyObservation] = {}
        self._total_granted = 0.0
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
                        await self._clock.sleep(wait)

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
        bucket.notify()

    def release(self, grant: Grant) -> None:
        """The request got no response (connection error): assume its tokens were spent."""
        if self._settle(grant):
            grant.bucket.notify()

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
            if bucket.tokens < cost - 1e-9:
                if bucket.capacity >= cost and self._gain(bucket) > 0:
                    return max(self._phase.credit_after(now) - now, 1e-3)
                # Credits alone will never cover this request (no capacity, or everything taken
                # by others): probe once a second, so that changed limits are noticed.
                if bucket.in_flight:
                    return None
                if now < bucket.probe_at:
                    return bucket.probe_at - now
                bucket.probe_at = now + 1.0
                bucket.tokens = cost
            bucket.tokens -= cost
        return self._grant(bucket, family, cost, now)

    def _grant(self, bucket: _Bucket, family: str, cost: float, now: float) -> Grant:
        grant = Grant(
            family=family,
            cost=cost,
            sent=now,
            bucket=bucket,
            granted_before=bucket.granted,
            in_flight_before=bucket.in_flight_cost,
            total_before=self._total_granted,
            family_before=self._family_granted.get(family, 0.0),
        )
        bucket.granted += cost
        bucket.in_flight += 1
        bucket.in_flight_cost += cost
        self._total_granted += cost
        self._family_granted[family] = grant.family_before + cost
        return grant

    def _credit(self, bucket: _Bucket, now: float) -> None:
        """Add the refills of the server boundaries that have surely passed since the last one."""
        if not self._phase.known:
            return
        moment = self._phase.credit_after(bucket.last_credit + _SAME_CREDIT)
        while moment <= now:
            bucket.tokens = min(bucket.capacity, bucket.tokens + self._gain(bucket))
            bucket.last_credit = moment
            bucket.credits.append(moment)
            bucket.external_rate += _EXTERNAL_WEIGHT * (
                bucket.external_this_second - bucket.external_rate
            )
            bucket.external_this_second = 0.0
            moment += 1.0

    @staticmethod
    def _gain(bucket: _Bucket) -> float:
        """Tokens one credit adds for us: the refill less what other programs take of it."""
        taken = bucket.external_rate if bucket.external_rate >= 1.0 else 0.0
        return max(0.0, bucket.rate - taken)

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
            bucket.rate, bucket.capacity = rate, capacity
        self._limits = (rate, capacity)
        bucket.aimd = False
        consumed = 0.0 if throttled else grant.cost
        self._phase.assume(now)
        if bucket.retired:
            return
        if not bucket.known:
            bucket.known = True
            bucket.tokens = max(0.0, min(capacity, remaining - bucket.in_flight_cost))
            bucket.last_credit = self._first_credit(now)
            return
        self._narrow_phase(bucket, grant, now, remaining, consumed)
        self._credit(bucket, now)
        self._reconcile(bucket, grant, now, remaining, throttled)
        bucket.recent.append(_Observation(grant.sent, now, remaining))
        if not throttled:
            self._weigh_partition(grant, now, remaining)

    def _first_credit(self, now: float) -> float:
        """The credit a fresh model counts as already in ``remaining``: the one at about ``now``
        (a refill between the server's processing and ``now`` is then missed, never doubled)."""
        return self._phase.credit_after(now - 2 * CREDIT_MARGIN)

    def _narrow_phase(
        self, bucket: _Bucket, grant: Grant, now: float, remaining: float, consumed: float
    ) -> None:
        """Find the latest-sent response processed surely before this one whose ``remaining``
        cannot explain this one without a refill: a boundary lies between the two."""
        if now - bucket.limits_changed_at < 2.0:
            return
        best: _Observation | None = None
        for seen in bucket.recent:
            if (
                seen.recv < grant.sent
                and remaining > seen.remaining - consumed + _TOLERANCE
                and (best is None or seen.sent > best.sent)
            ):
                best = seen
        if best is not None:
            self._phase.narrow(best.sent, now)

    def _reconcile(
        self, bucket: _Bucket, grant: Grant, now: float, remaining: float, throttled: bool
    ) -> None:
        """Move the model towards what ``remaining`` says the server holds.

        The lower bound counts every grant that may have been processed after this one, so it is
        safe to rise to. The upper bound assumes the server processed later grants after this one;
        latency jitter breaks that, so it is trusted only when nothing else was in flight (then it
        is exact) or on a 429, which is proof. What the model loses that way was taken by another
        program on the same API client, whose rate is then withheld from each credit.
        """
        granted_after = bucket.granted - grant.granted_before - grant.cost
        credited_since_sent = sum(1 for c in bucket.credits if c > grant.sent)
        upper = min(bucket.capacity, remaining - granted_after + bucket.rate * credited_since_sent)
        lower = remaining - granted_after - grant.in_flight_before
        if now > self._phase.earliest_boundary_after(bucket.last_credit):
            lower -= bucket.rate  # the response may already include a refill not yet credited
        lower = min(lower, bucket.capacity)
        exact = throttled or (granted_after == 0 and grant.in_flight_before == 0)
        if exact and bucket.tokens > upper + _TOLERANCE:
            if now - bucket.limits_changed_at >= 2.0:
                bucket.external_this_second += bucket.tokens - upper
            bucket.tokens = upper
        elif bucket.tokens < lower - _TOLERANCE:
            bucket.tokens = lower

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
        """Compare this family's ``remaining`` with its previous one: did the other families'
        grants in between drain it too (one bucket) or not (a bucket per family)?"""
        total_after = grant.total_before + grant.cost
        family_after = grant.family_before + grant.cost
        previous = self._family_last.get(grant.family)
        current = _FamilyObservation(grant.sent, now, remaining, total_after, family_after)
        if previous is None or previous.total_after < total_after:
            self._family_last[grant.family] = current
        if previous is None or previous.recv >= grant.sent or now - previous.sent >= 1.0:
            return
        own = family_after - previous.family_after
        others = (total_after - previous.total_after) - own
        if others < 1.0 or own < 0:
            return
        drop = previous.remaining - remaining
        refills = self._possible_refills(previous.sent, now)
        fits_split = self._fits(drop, own, refills)
        fits_shared = self._fits(drop, own + others, refills)
        if fits_split == fits_shared:
            return
        if fits_split:
            self._split_evidence += 1.0
            self._shared_evidence *= _EVIDENCE_DECAY
        else:
            self._shared_evidence += 1.0
            self._split_evidence *= _EVIDENCE_DECAY
        self._repartition()

    def _possible_refills(self, after: float, before: float) -> tuple[float, ...]:
        rate = self._limits[0] if self._limits else 0.0
        if self._phase.provisional:
            return (0.0, rate)
        late = self._phase.credit_after(after) - CREDIT_MARGIN
        early = late - self._phase.width
        if early >= before:
            return (0.0,)
        return (rate,) if early > after and late < before else (0.0, rate)

    @staticmethod
    def _fits(drop: float, consumed: float, refills: Iterable[float]) -> bool:
        return any(abs(drop - consumed + refill) <= _TOLERANCE for refill in refills)

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
        """Replace the buckets; in-flight grants settle against their retired bucket."""
        self._split = split
        self._split_evidence = self._shared_evidence = 0.0
        for bucket in self._buckets.values():
            bucket.retired = True
            bucket.notify()
        self._buckets = {}
        if split:
            for family, seen in self._family_last.items():
                bucket = self._bucket_for(family)
                in_flight_after = self._family_granted.get(family, 0.0) - seen.family_after
                bucket.tokens = max(0.0, seen.remaining - in_flight_after)
                bucket.known = True
                if self._phase.known:
                    bucket.last_credit = self._first_credit(self._clock.monotonic())
