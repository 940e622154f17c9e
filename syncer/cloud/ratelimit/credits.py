"""How the bucket model moves: credits at the server's second, and reconciling with responses.

* **Credits at the server's second.** Tokens are credited at the late end of the phase estimate,
  so the model never spends a token before the server has it.
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
* **A slow wire.** At a latency of a second, ``[sent, received]`` says little about when the
  server handled a request; the way there takes at least a share of the shortest round trip, so
  a response is dated within ``[sent + leg, received]`` (``Observation.handled_from/by``), and
  grants whose answers show them handled before another's do not weaken its lower bound.
* **Other programs.** What the model loses to those corrections is consumption nobody here made
  (another program on the same API client); its rate is tracked and withheld from each credit,
  so we take the share that is actually left instead of racing for it.
"""

from __future__ import annotations

import math

from syncer.cloud.ratelimit.bucket import Bucket, Grant
from syncer.cloud.ratelimit.observation import Observation
from syncer.cloud.ratelimit.phase import Phase
from syncer.cloud.ratelimit.tuning import Tuning


class Credits:
    """The rules that move a bucket's level, given where the server's seconds fall."""

    def __init__(self, phase: Phase, tuning: Tuning) -> None:
        self._phase = phase
        self._tuning = tuning

    def credit(self, bucket: Bucket, now: float, largest_cost: float) -> None:
        """Add the refills of the server boundaries that have surely passed since the last one."""
        if not self._phase.known:
            return
        moment, boundary_from = self.following(bucket, largest_cost)
        while moment <= now:
            self._credit_once(bucket, moment, boundary_from, largest_cost)
            moment, boundary_from = self.following(bucket, largest_cost)

    def following(self, bucket: Bucket, largest_cost: float) -> tuple[float, float]:
        """The bucket's next credit, and the earliest the boundary it stands for can happen."""
        held = bucket.level_at(bucket.last_credit + self._tuning.late_credit)
        more_than_a_probe = held > 2 * largest_cost - self._tuning.tolerance
        return self._phase.following(bucket.last_credit, bucket.boundary_from, more_than_a_probe)

    def _credit_once(
        self, bucket: Bucket, moment: float, boundary_from: float, largest_cost: float
    ) -> None:
        tuning, phase = self._tuning, self._phase
        # What the model lost (or found) since the last credit is what the withheld share
        # missed: integrate it (before this credit uses it), so the share settles where
        # nothing is unexplained any more.
        bucket.external_rate = min(
            bucket.rate, max(0.0, bucket.external_rate + bucket.external_this_second)
        )
        bucket.external_this_second = 0.0
        bucket.external_peak = max(bucket.external_rate, 0.9 * bucket.external_peak)
        # The refill happened somewhere in the arc; if the bucket was (nearly) full then, the
        # server capped it, so credit only the room there was at the fullest moment.
        start, end = bucket.straddled
        if end > boundary_from and start < moment:
            # A boundary in the arc came while grants of ours were on the wire: the refill found
            # their tokens, which the model had taken at sending, still in the server's bucket.
            peak = bucket.peak_since(max(boundary_from, start), in_flight=True)
        else:
            peak = bucket.peak_since(boundary_from)
        gain = bucket.gain(room=max(0.0, bucket.capacity - peak))
        floor = self._floor(bucket, boundary_from)
        bucket.set_tokens(max(floor, min(bucket.capacity, bucket.tokens + gain)), moment)
        if not bucket.slow_wire() and bucket.checked_credits < tuning.checked_credits:
            bucket.spend_in_waves()
        bucket.note_credit(moment, boundary_from)
        costly = bucket.capacity - bucket.rate < largest_cost
        probe_width = tuning.costly_probe_width if costly else tuning.probe_width
        if phase.width > probe_width and bucket.tokens >= 2 * largest_cost:
            # Only with a partner sent at the credit: a probe alone has no response within
            # one second to compare with, and holding it back would then cost a token a
            # second for nothing (a capacity of two stayed at one request a second).
            bucket.probes = self._probes(bucket, moment, largest_cost)

    def _probes(self, bucket: Bucket, moment: float, largest_cost: float) -> tuple[float, ...]:
        """Moments spread evenly through the next boundary's arc, ``Tuning.probe_spacing`` apart,
        a token held back for each (``Tuning.probe_share`` of a refill at most).

        The first one sent after the boundary shows its refill, which is then credited at once
        (``credit_seen_refill``), and the arc narrows to the space between two probes. One probe a
        second, at the middle, left half a second of doubt at the next credit: a read of two
        refills at 0 ms ended its last page up to half a second after the second refill (1.30x
        the bound). What this costs are the tokens still held at the boundary, which a bucket no
        larger than a refill caps: once, as the arc is then narrower than
        ``Tuning.costly_probe_width``. On a slow wire (``Tuning.slow_round_trip``) one probe at
        the middle, as before: answers there date the server's handling to a share of the
        latency, wider than the spacing.
        """
        width, tuning = self._phase.width, self._tuning
        wanted = 1 if bucket.slow_wire() else max(1, math.ceil(width / tuning.probe_spacing) - 1)
        share = max(1, math.floor(tuning.probe_share * bucket.rate / largest_cost))
        count = min(wanted, share, math.floor(bucket.tokens / largest_cost) - 1)
        arc_start = moment + 1.0 - tuning.credit_margin - width
        return tuple(arc_start + width * (n + 1) / (count + 1) for n in range(count))

    def _floor(self, bucket: Bucket, boundary_from: float) -> float:
        """The least the refill of the boundary that happened at ``boundary_from`` at the
        earliest left us, however full it found the bucket.

        It left at least min(capacity, rate) (less the other program's take) for what the server
        processed after it: at most our grants not answered before the arc began. With burst <=
        rate this is the whole bucket. An unbroken chain of answers proves the level the refill
        met: no guessing needed.
        """
        floor = bucket.gain(room=bucket.capacity) - bucket.unanswered_at(boundary_from)
        level = bucket.proven_level()
        if level is not None:
            floor = max(floor, bucket.gain(room=bucket.capacity - level))
        return floor

    def _note_straddle(self, bucket: Bucket, seen: Observation) -> None:
        """Where two answers on the wire together show the same ``remaining``, a boundary lies
        between the earlier one's earliest handling and now (``RecentAnswers.twin``). Within a
        second of each other, that window is the bucket's ``straddled``: the credit for that
        boundary counts what was on the wire then as held by the server (``_credit_once``).
        Counted from the model's level alone, a refill up to the burst capacity that a burst
        on the wire had capped was credited whole, and the next burst was refused where it
        reached the server before the following boundary (17 x 429 at 200/s and 0.4 s). The
        window is evidence of where the server's second begins too: a burst at each credit has
        no answer received before another was sent (``locate_boundary``), so the arc stayed wide
        and every credit came late in the server's second, where its burst straddled the next
        boundary again."""
        other = bucket.recent.twin(seen)
        if other is not None and seen.recv - other.handled_from < 1.0:
            bucket.straddled = (min(other.handled_from, seen.handled_from), seen.recv)
            if bucket.learning(seen.recv):
                self._phase.boundary_in(*bucket.straddled)

    def first_credit(self, now: float) -> float:
        """The credit a fresh model counts as already in ``remaining``: the one at about ``now``
        (a refill between the server's processing and ``now`` is then missed, never doubled)."""
        return self._phase.credit_after(now - 2 * self._tuning.credit_margin)

    def locate_boundary(
        self, bucket: Bucket, grant: Grant, now: float, remaining: float, consumed: float
    ) -> Observation | None:
        """Compare with responses processed surely before this one (received before it was sent).

        Higher ``remaining`` than the latest-sent of them allows means a refill in between: a
        boundary lies between that one's sending and now, and that response is returned. Lower
        than a refill after the latest of them could leave (even if every grant not yet answered
        was processed in between) means no boundary lay between its arrival and our sending,
        unless another program has been seen lately (it may have taken the refill).
        """
        if not bucket.learning(now):
            return None
        leg = bucket.leg(now - grant.sent)
        handled_from, handled_by = grant.sent + leg, now
        earlier = [
            s
            for s in bucket.recent.within(-math.inf, handled_from)
            if handled_by - 1.0 < s.handled_from
        ]
        if not earlier:
            return None
        tolerance = self._tuning.tolerance
        refilled = [s for s in earlier if remaining > s.remaining - consumed + tolerance]
        if refilled:
            latest = max(refilled, key=lambda seen: seen.handled_from)
            self._phase.boundary_in(latest.handled_from, handled_by)
            return latest
        last = max(earlier, key=lambda seen: seen.handled_by)
        # Grants answered before ``last`` arrived were surely processed before the window; any
        # other (granted earlier and still unanswered then, or granted since) may have taken its
        # token after a boundary in the window.
        others = bucket.granted - last.answered - grant.cost
        # Another program on the bucket may take the refill right after the boundary (its share,
        # or more when it races us: another syncer process). While one has been seen lately, a
        # low answer proves nothing (taken for evidence, it put one process's phase half a
        # second off, and that process was refused every second after).
        if bucket.external_peak >= tolerance:
            return None
        taken = math.ceil(bucket.external_rate)
        least_after_refill = min(bucket.capacity, bucket.rate) - taken - others - consumed
        if remaining < least_after_refill - tolerance:
            self._phase.no_boundary_in(last.handled_by, handled_from)
        return None

    def credit_seen_refill(
        self, bucket: Bucket, grant: Grant, before: Observation, now: float, remaining: float
    ) -> bool:
        """A response shows a refill since ``before``: when the model does not hold it yet, count
        its credit as taken now and let ``reconcile`` raise the model to what the response proves
        is there. Returns whether it did.

        Waiting for the credit instead would leave those tokens to the cap of the next refill, and
        the credit, guessing the bucket full at the boundary (the room at the fullest moment of a
        wide arc), would add nothing: with burst equal to the rate, a second lost in two. The
        credit's own floor holds as well (the refill is proven past). But when neither proves
        more than the model holds (many grants in flight at a high latency, any of which may have
        come after this one), taking the credit now would add nothing and spend the credit that
        would: it is left to come at its time.
        """
        if not bucket.holds_refills_after(before):
            return False
        moment = self._phase.credit_after(before.handled_from)
        boundary_from = self._phase.earliest_boundary_before(moment)
        floor = self._floor(bucket, boundary_from)
        next_boundary = self._phase.earliest_next_boundary(moment, boundary_from)
        lower = self._lower(bucket, grant, remaining, now, next_boundary)
        if max(floor, lower) <= bucket.tokens + self._tuning.tolerance:
            return False
        if boundary_from >= now:
            return False  # the estimate puts no boundary in the window: evidence to weigh only
        if moment <= bucket.last_credit:
            return False  # the estimate has that boundary's refill credited already
        bucket.note_credit(moment, boundary_from)
        bucket.set_tokens(max(bucket.tokens, min(bucket.capacity, floor)), now)
        return True

    def _lower(
        self,
        bucket: Bucket,
        grant: Grant,
        remaining: float,
        now: float,
        next_boundary: float,
    ) -> float:
        """What the server holds at least, by ``remaining``, with the model's credits up to the
        boundary before ``next_boundary`` (the earliest the first one not credited can happen):
        every grant that may have been processed after this one (granted since, or in flight
        when it was granted and not shown handled before it) is gone, and a refill not yet
        credited is not counted."""
        granted_after = bucket.granted - grant.granted_before - grant.cost
        handled_from = grant.sent + bucket.leg(now - grant.sent)
        in_flight = grant.in_flight_before - bucket.handled_before(grant, handled_from)
        lower = remaining - granted_after - in_flight
        if now > next_boundary:
            lower -= bucket.rate  # the response may already include a refill not yet credited
        return lower

    def reconcile(
        self,
        bucket: Bucket,
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
        tuning = self._tuning
        refills = bucket.rate * sum(1 for c in bucket.credits if c > grant.sent)
        next_boundary = self._phase.earliest_next_boundary(bucket.last_credit, bucket.boundary_from)
        lower = self._lower(bucket, grant, remaining, now, next_boundary)
        # Nor can the server hold more than a full bucket less what we took since its last refill
        # (a bucket Spring never stores, capacity / rate < 0.5, reports itself full throughout).
        lower = min(lower, bucket.capacity - (bucket.granted - bucket.granted_at_credit))
        if throttled:
            bucket.set_tokens(bucket.tokens + grant.cost, now)
        upper = bucket.cap_by_answer(min(bucket.capacity, remaining + refills))
        lower = min(lower, upper)
        if bucket.tokens > upper + tuning.tolerance:
            lost = bucket.tokens - upper
            raced = min(lost, bucket.found)
            bucket.found -= raced
            if bucket.learning(now):
                bucket.external_this_second += tuning.external_weight * (lost - raced)
            bucket.set_tokens(upper, now)
        elif bucket.tokens < lower - tuning.tolerance:
            if not explained:
                bucket.external_this_second -= tuning.found_weight * (lower - bucket.tokens)
                bucket.found += lower - bucket.tokens
            bucket.set_tokens(lower, now)
            if not explained and not bucket.reserve and not bucket.slow_wire():
                bucket.spend_in_waves()  # another process may have found them as well

    def learn(
        self,
        bucket: Bucket,
        grant: Grant,
        now: float,
        remaining: float,
        *,
        throttled: bool,
        largest_cost: float,
    ) -> None:
        """Take in one response's ``remaining`` (limits already set on ``bucket``)."""
        if not bucket.known:
            bucket.known = True
            level = max(0.0, min(bucket.capacity, remaining - bucket.in_flight_cost))
            bucket.set_tokens(level, now)
            bucket.last_credit = self.first_credit(now)
            bucket.boundary_from = self._phase.earliest_boundary_before(bucket.last_credit)
            if not bucket.slow_wire(now - grant.sent):
                bucket.spend_in_waves()  # another process may be starting on the same bucket
            refilled = True  # the model's refills are what this response held
        else:
            consumed = 0.0 if throttled else grant.cost
            before = self.locate_boundary(bucket, grant, now, remaining, consumed)
            refilled = before is not None and self.credit_seen_refill(
                bucket, grant, before, now, remaining
            )
            self.credit(bucket, now, largest_cost)
            self.reconcile(bucket, grant, now, remaining, throttled, explained=refilled)
        seen = Observation(
            grant.sent,
            now,
            remaining,
            bucket.granted - bucket.in_flight_cost,
            cost=grant.cost,
            granted_before=grant.granted_before,
            leg=bucket.leg(now - grant.sent),
        )
        if not throttled:
            self._note_straddle(bucket, seen)
        bucket.recent.remember(seen)
        if refilled:
            bucket.basis = seen
        bucket.follow_chain(grant, remaining, throttled, exact=refilled)
