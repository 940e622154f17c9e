"""The limiter every worker and session of one API client shares: it composes the pieces.

Workers ask ``acquire`` for a grant, send, and hand the response back through ``observe``. The
buckets (one shared, or one per family as ``Partition`` decides) hold the model. Where a bucket
holds more than a refill its ``Pacer`` decides when a request goes (spend the burst, then pace
at what others leave, above a floor); on a slow wire (``Tuning.slow_round_trip``) elsewhere, each
refill goes as one batch at the moment of our second that lands it whole (``Batches``);
elsewhere ``Credits`` moves the model with the server's seconds (``Phase``) and the responses,
and requests go as each refill is credited. Every answer
feeds both models (the credits' phase also places the pacer's answers on the stepwise refill),
so a bucket whose limits change moves between them. ``Aimd`` paces a server without headers.
Some rules belong to the composition itself:

* **Costly requests.** Until a response has shown a family's cost (``requested-tokens``), its
  requests go out one at a time with nothing else in flight, at the largest cost seen so far:
  ten workers starting at once must not spend ten unknown costs out of a bucket they know
  nothing about.
* **Two waves** (credits only). Until two credits in a row check out, half of each credit waits
  for the answers to the other half: a program taking its share right after the refill shows up
  there, before the second wave asks for tokens that are gone. Not on a slow wire
  (``Tuning.slow_round_trip``): there the answers come a latency later, and waiting for them
  halved the rate at 1 s.
* **429.** The bucket (all its workers together) pauses until the next credit, or for a capped
  ``Retry-After`` (a batch's 429 needs no pause: the next batch waits for its moment anyway).
  Waiters queue on one lock per bucket, so one sleeper wakes at a time: no herd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import anyio

from syncer.clock import Clock
from syncer.cloud.headers import RateHeaders
from syncer.cloud.ratelimit.bucket import Bucket, Grant
from syncer.cloud.ratelimit.credits import Credits
from syncer.cloud.ratelimit.partition import Partition
from syncer.cloud.ratelimit.phase import Phase
from syncer.cloud.ratelimit.readings import Reading
from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class LimiterStats:
    """What the limiter has learned, for run statistics and the benchmark."""

    partition: str
    rate: float | None
    """Tokens a second of one bucket (with one bucket per family, each family's)."""
    burst: float | None
    """The capacity of one bucket."""
    cost: float | None
    external_rate: float
    aimd: bool
    phase_width: float | None
    aimd_rate: float | None = None
    """Requests a second the AIMD fallback allows (``None`` while it is not in use)."""
    batch: float | None = None
    """Tokens handed out at once where each refill goes as one batch (a slow wire: ``batches``),
    ``None`` elsewhere: work in flight must cover a batch, or the batch goes short."""


class RateLimiter:
    """Paces requests to the server's token bucket(s), learned from the response headers."""

    def __init__(
        self, clock: Clock, *, retry_after_cap: float = 60.0, tuning: Tuning = DEFAULT_TUNING
    ) -> None:
        self._clock = clock
        self._retry_after_cap = retry_after_cap
        self._tuning = tuning
        self._phase = Phase(tuning)
        self._credits = Credits(self._phase, tuning)
        self._partition = Partition(tuning)
        self._buckets: dict[str, Bucket] = {}
        self._family_cost: dict[str, float] = {}
        self._answered_families: set[str] = set()
        self._limits: tuple[float, float] | None = None

    # -- public -------------------------------------------------------------------------------

    async def acquire(self, family: str) -> Grant:
        """Wait until the model allows one request of ``family`` and take its tokens."""
        asked = self._clock.monotonic()
        while True:
            bucket = self._bucket_for(family)
            async with bucket.lock:
                while not bucket.retired:
                    now = self._clock.monotonic()
                    wait = self._try_take(bucket, family, now, asked)
                    if isinstance(wait, Grant):
                        return wait
                    if wait is None:
                        await bucket.changed.wait()
                    else:
                        await self._sleep_unless_changed(bucket, max(wait, self._tuning.min_sleep))

    async def _sleep_unless_changed(self, bucket: Bucket, seconds: float) -> None:
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
        bucket = grant.bucket
        if not bucket.settle(grant):
            return
        now = self._clock.monotonic()
        throttled = status == 429
        bucket.recent.timed(grant.sent, now)
        if grant.batch is not None:
            remaining = headers.remaining if headers.has_limits else None
            bucket.batches.settle(
                grant.batch, now, grant.family, grant.cost, remaining, refused=throttled
            )
        if grant.blocked_probe and throttled:
            bucket.blocked_probe_refused()
        elif grant.blocked_probe and headers.remaining is not None:
            bucket.blocked_probe_passed(now, headers.remaining)
        if headers.failed_open:
            pass  # the server's limiter failed open: keep what we know
        elif headers.has_limits:
            self._learn(grant, bucket, headers, now, throttled)
        elif not bucket.known:
            if throttled:
                bucket.aimd.refused(now)
            else:
                bucket.aimd.succeeded()
        # Answered, with or without a cost (no headers, or a limiter that failed open: then one
        # token, the server's default), the family's requests need not go one at a time.
        self._answered_families.add(grant.family)
        if throttled and (grant.batch is None or headers.retry_after is not None):
            # A batch's 429 needs no pause: the next batch waits for its moment anyway.
            self._pause(bucket, now, headers.retry_after)
            bucket.refused_on_the_wire()
        bucket.answered()

    def release(self, grant: Grant) -> None:
        """The request got no response (connection error): assume its tokens were spent."""
        bucket = grant.bucket
        if bucket.settle(grant):
            if grant.batch is not None:
                now = self._clock.monotonic()
                bucket.batches.settle(
                    grant.batch, now, grant.family, grant.cost, None, refused=False
                )
            bucket.answered()

    @property
    def stats(self) -> LimiterStats:
        buckets = [b for b in self._buckets.values() if b.known]
        costs = list(self._family_cost.values())
        pacing = [b.aimd.rate for b in self._buckets.values() if b.aimd.active]
        batched = [b for b in buckets if self._batched(b)]
        return LimiterStats(
            partition="per-family" if self._partition.split else "shared",
            rate=max(b.rate for b in buckets) if buckets else None,
            burst=max(b.capacity for b in buckets) if buckets else None,
            cost=max(costs) if costs else None,
            external_rate=sum(self._external_rate(b) for b in buckets),
            aimd=bool(pacing),
            phase_width=None if self._phase.provisional else self._phase.width,
            aimd_rate=min(pacing) if pacing else None,
            batch=max(min(b.rate, b.capacity) for b in batched) if batched else None,
        )

    def _batched(self, bucket: Bucket) -> bool:
        """Whether the bucket's requests go in batches (``batches``): a wire slower than
        ``Tuning.batch_round_trip`` (infinite before any answer: not yet), with no quicker
        answer for ``Tuning.batch_memory`` seconds, and not paced. The recent answers alone
        flipped the mode within a burst: its answers come back in the order of their round
        trips, so the last ones the bucket keeps are the slowest of it, and on a wire whose
        jitter straddles the threshold the model switched to batches and back within a second
        (each switch spending what the other model had just credited: 50 x 429 at 200/s)."""
        tuning = self._tuning
        shortest = bucket.recent.shortest_round_trip()
        slow = tuning.batch_round_trip <= shortest < math.inf
        slow = slow and not bucket.recent.quick_within(tuning.batch_memory, self._clock.monotonic())
        return slow and not bucket.paced(self._largest_cost())

    def _external_rate(self, bucket: Bucket) -> float:
        """Other programs' rate as the model that paces the bucket measures it."""
        return bucket.pacer.others if bucket.paced(self._largest_cost()) else bucket.external_rate

    # -- taking tokens ------------------------------------------------------------------------

    def _bucket_for(self, family: str) -> Bucket:
        key = self._partition.key(family)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(key, self._tuning)
            if self._limits is not None:
                bucket.rate, bucket.capacity = self._limits
        return bucket

    def _try_take(
        self, bucket: Bucket, family: str, now: float, asked: float
    ) -> Grant | float | None:
        """A grant, or seconds to sleep, or ``None`` to wait for the next response. ``asked`` is
        when the request began to wait (see ``Batches.take``)."""
        if now < bucket.paused_until:
            return bucket.paused_until - now
        if family not in self._answered_families and bucket.in_flight:
            return None  # a family's first request goes alone: its cost is not known yet
        unknown = 1.0 if family in self._answered_families else self._largest_cost()
        cost = self._family_cost.get(family, unknown)
        if bucket.aimd.active and not bucket.known:
            wait = bucket.aimd.wait(now)
            if wait is not None:
                return wait
        elif not bucket.known:
            if bucket.in_flight:
                return None  # one probe at a time until the first headers arrive
        else:
            return self._take_modelled(bucket, family, cost, now, asked)
        return bucket.grant(family, cost, now)

    def _take_modelled(
        self, bucket: Bucket, family: str, cost: float, now: float, asked: float
    ) -> Grant | float | None:
        """``_try_take`` for a bucket whose limits are known: the model decides."""
        self._credits.credit(bucket, now, self._largest_cost())
        if bucket.paced(cost):
            wait = bucket.pacer.wait(now, bucket.rate, bucket.capacity, cost)
            if wait is None:
                bucket.set_tokens(bucket.tokens - cost, now)
                return bucket.grant(family, cost, now)
            if bucket.in_flight:
                return wait
            # Nothing in flight, so no answer will correct the model: had it taken others' rate
            # for the whole refill, its line would never rise and nothing would go again. After
            # a window without a grant, a probe goes (as when credits cannot cover a request).
            quiet = bucket.pacer.last_sent + self._tuning.others_window
            probe = self._blocked_probe(
                bucket, family, cost, now, max(quiet, bucket.blocked_probe_at)
            )
            return probe if isinstance(probe, Grant) else min(wait, probe)
        if self._batched(bucket):
            return self._take_batched(bucket, family, cost, now, asked)
        probes = [moment for moment in bucket.probes if moment > now]  # a token held for each
        if probes and cost - _EPSILON <= bucket.tokens < (len(probes) + 1) * cost - _EPSILON:
            return probes[0] - now  # the last tokens wait to probe the phase, one at each moment
        if bucket.tokens - cost < bucket.reserve - _EPSILON and bucket.in_flight:
            return None  # the second wave waits for the first one's answers
        if bucket.tokens < cost - _EPSILON:
            # The most a credit can add is bounded by the room above today's level (the peak
            # it caps by is at least that level): a gain that only an empty bucket would see
            # never arrives, and waiting for it would wait for ever.
            if bucket.capacity >= cost and bucket.gain(room=bucket.capacity - bucket.tokens) > 0:
                return self._credits.following(bucket, self._largest_cost())[0] - now
            # Credits alone will never cover this request (no capacity, no room, or everything
            # taken by others): probe now and then (a second apart, longer while refused), so
            # that changed limits or a neighbour that stopped are noticed.
            if bucket.in_flight:
                return None
            return self._blocked_probe(bucket, family, cost, now, bucket.blocked_probe_at)
        bucket.set_tokens(bucket.tokens - cost, now)
        return bucket.grant(family, cost, now)

    @staticmethod
    def _blocked_probe(
        bucket: Bucket, family: str, cost: float, now: float, due: float
    ) -> Grant | float:
        """A request the model would not grant goes anyway at ``due`` (seconds until then
        before it), so that a model that is wrong, changed limits or a neighbour that stopped
        are noticed (``Bucket.send_blocked_probe``)."""
        if now < due:
            return due - now
        bucket.send_blocked_probe(now)
        grant = bucket.grant(family, cost, now)
        grant.blocked_probe = True
        return grant

    def _take_batched(
        self, bucket: Bucket, family: str, cost: float, now: float, asked: float
    ) -> Grant | float:
        """``_take_modelled`` on a slow wire: each refill goes as one batch (``batches``)."""
        offered = min(bucket.capacity, bucket.rate)
        # Idle: nothing of ours in flight, and no other program seen lately (``batches``).
        idle = bucket.in_flight == 0 and bucket.external_peak < self._tuning.tolerance
        batch = bucket.batches.take(now, cost, offered, bucket.tokens, asked=asked, idle=idle)
        if isinstance(batch, float):
            return batch
        bucket.set_tokens(bucket.tokens - cost, now)
        grant = bucket.grant(family, cost, now)
        grant.batch = batch
        return grant

    def _largest_cost(self) -> float:
        return max(self._family_cost.values(), default=1.0)

    # -- learning -----------------------------------------------------------------------------

    def _learn(
        self, grant: Grant, bucket: Bucket, headers: RateHeaders, now: float, throttled: bool
    ) -> None:
        assert headers.replenish_rate is not None
        assert headers.remaining is not None
        if headers.requested is not None and headers.requested > 0:
            self._family_cost[grant.family] = headers.requested
        rate = headers.replenish_rate
        capacity = headers.burst_capacity if headers.burst_capacity is not None else rate
        bucket.set_limits(rate, capacity, now)
        self._limits = (rate, capacity)
        bucket.aimd.active = False
        self._phase.assume(now)
        if bucket.retired:
            return
        self._pace(bucket, grant, now, headers.remaining)
        self._credits.learn(
            bucket,
            grant,
            now,
            headers.remaining,
            throttled=throttled,
            largest_cost=self._largest_cost(),
        )
        if not throttled:
            self._weigh_partition(grant, now, headers.remaining)

    def _pace(self, bucket: Bucket, grant: Grant, now: float, remaining: float) -> None:
        """Show the paced model an answer: ``remaining`` less our grants since is the level it
        had when the server handled the request (about half way between the way there and the
        answer), and the line has risen since."""
        pacer = bucket.pacer
        handled_from = grant.sent + bucket.leg(now - grant.sent)
        at = self._phase.fraction(handled_from, now)
        if not pacer.started:
            level = min(bucket.capacity, remaining) - bucket.in_flight_cost
            placed = at if self._phase.placed else None
            pacer.start(level, now, bucket.rate, placed, slow=bucket.slow_wire(now - grant.sent))
            return
        if bucket.external_this_second + bucket.external_rate > self._tuning.others_evidence:
            pacer.notice_others(now)
        granted_after = bucket.granted - grant.granted_before - grant.cost
        handled = (handled_from + now) / 2
        if at is not None:
            pacer.phase_error = self._phase.width / 2
        if at is None and self._phase.placed:
            return  # handled on either side of a boundary: half a refill off either way
        limits = (bucket.rate, bucket.capacity)
        pacer.answer(remaining - granted_after, handled, at, now, limits)
        pacer.learn_wire(*bucket.recent.round_trips(), offset=handled - grant.sent)
        if bucket.learning(now):
            ours = pacer.ours_by(handled)
            reading = Reading(handled, remaining, ours)
            pacer.measure(reading, now, limits, self._phase.boundaries_between)

    def _pause(self, bucket: Bucket, now: float, retry_after: float | None) -> None:
        """After a 429, the bucket waits for the next credit (or AIMD's pause where nothing is
        known), and for ``Retry-After`` (capped) when the server says longer. A shorter one is no
        reason to go sooner: ``Retry-After: 0`` on a 429 sent the same request again at once, a
        tight loop against the server until the client's throttling budget ran out."""
        if bucket.known and self._phase.known:
            until = self._phase.credit_after(now)
        else:
            until = now + bucket.aimd.pause_after_refusal()
        if retry_after is not None:
            until = max(until, now + min(retry_after, self._retry_after_cap))
        bucket.paused_until = max(bucket.paused_until, until)

    # -- partition ----------------------------------------------------------------------------

    def _weigh_partition(self, grant: Grant, now: float, remaining: float) -> None:
        second = self._phase.second_of(grant.sent, now)
        if second is not None and self._partition.weigh(grant.family, second, remaining):
            self._replace_buckets()

    def _replace_buckets(self) -> None:
        """In-flight grants settle against their retired bucket, and each new bucket starts with
        a probe, as the first one did."""
        for bucket in self._buckets.values():
            bucket.retired = True
            bucket.notify()
        self._buckets = {}
