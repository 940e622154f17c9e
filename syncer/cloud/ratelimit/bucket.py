"""Our model of one server-side bucket: its level, its grants, and the bookkeeping rules.

The model knows nothing of time beyond the moments it is told; where the server's seconds fall is
``Phase``'s job and how responses move the level is ``credits``'. What is here are the rules that
keep the bucket's own fields consistent: a grant takes tokens and is counted in flight until
settled, a credit spends the evidence gathered for its refill, an exact answer starts a chain.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import anyio

from syncer.cloud.ratelimit.aimd import Aimd
from syncer.cloud.ratelimit.batches import Batch, Batches
from syncer.cloud.ratelimit.observation import Observation
from syncer.cloud.ratelimit.pacing import Pacer
from syncer.cloud.ratelimit.recent import RecentAnswers
from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning


@dataclass(eq=False, slots=True)
class Grant:
    """Permission to send one request; hand it back through ``observe`` or ``release``."""

    family: str
    cost: float
    sent: float
    bucket: Bucket
    granted_before: float
    """The bucket's cumulative granted cost before this grant (orders grants within a bucket)."""
    in_flight_before: float
    """Cost of the bucket's grants in flight when this one was made (may be processed after it)."""
    batch: Batch | None = None
    """The batch it went in, on a slow wire (``batches``)."""
    blocked_probe: bool = False
    """Sent although credits could not cover it (see ``Bucket.send_blocked_probe``)."""
    settled: bool = False


@dataclass(slots=True)
class Chain:
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

    def level_before_refill(self, bucket: Bucket, tolerance: float) -> float | None:
        """The level the next boundary met, when the chain proves it."""
        complete = bucket.in_flight == 0 and bucket.granted - self.granted_before == self.answered
        unbroken = abs(self.low - (self.top - self.answered)) < tolerance
        return self.low if complete and unbroken else None


@dataclass(eq=False, slots=True)
class Bucket:
    """Our model of one server-side bucket."""

    key: str
    tuning: Tuning = DEFAULT_TUNING
    rate: float = 0.0
    capacity: float = 0.0
    tokens: float = 0.0
    known: bool = False
    retired: bool = False
    last_credit: float = -math.inf
    boundary_from: float = -math.inf
    """The earliest the server boundary that ``last_credit`` stands for can have happened."""
    credits: deque[float] = field(default_factory=lambda: deque(maxlen=8))
    levels: deque[tuple[float, float, float]] = field(init=False)
    """Recent (time, tokens after a change, those tokens plus the cost then in flight) of the
    model."""
    granted: float = 0.0
    granted_at_credit: float = 0.0
    """``granted`` when the last refill was credited: what we took since then is not there."""
    in_flight: int = 0
    in_flight_cost: float = 0.0
    paused_until: float = -math.inf
    limits_changed_at: float = -math.inf
    external_this_second: float = 0.0
    external_rate: float = 0.0
    external_peak: float = 0.0
    """The most ``external_rate`` was lately (fading by a tenth at each credit): while another
    program has been seen, a low ``remaining`` after a boundary proves nothing about where the
    boundary was (it may have taken the refill)."""
    found: float = 0.0
    """Tokens the model rose to since the last credit on finding them above it: another
    process that finds them too takes some of them, and that is a race for leftovers, not a
    share it takes every second."""
    recent: RecentAnswers = field(init=False)
    ceiling: float = math.inf
    """``granted`` plus the most the server can hold by the answers since the last credit (see
    ``cap_by_answer``)."""
    chain: Chain | None = None
    """Answers since an exact ``remaining`` (a response with nothing else in flight)."""
    basis: Observation | None = None
    """The response whose ``remaining`` the model's refills were last set from (the first one, or
    one that proved a refill before its credit was due); ``None`` after a credit."""
    blocked_probe_at: float = -math.inf
    """When credits cannot cover a request, the next time one may be sent anyway."""
    blocked_probe_every: float = 1.0
    """Seconds from one such probe to the next: doubled when one is refused, 1 once one passes."""
    straddled: tuple[float, float] = (math.inf, -math.inf)
    """The last window shown to hold a server boundary while grants of ours were on the wire
    (``RecentAnswers.twin``): a refill there found their tokens still in the bucket."""
    probes: tuple[float, ...] = ()
    """Moments in the next boundary's arc at which the tokens held back go, one at each."""
    reserve: float = 0.0
    """Tokens held back until the answers to the wave granted since ``reserved_at`` are in."""
    reserved_at: float = 0.0
    """``granted`` when the reserve was set: the wave is what was granted after it."""
    checked_credits: int = 0
    """Credits in a row whose first wave found the server holding what the model said."""
    leg_share: float = field(init=False)
    """``Tuning.leg_share``, halved by each 429 on a slow wire (see ``refused_on_the_wire``)."""
    aimd: Aimd = field(init=False)
    pacer: Pacer = field(init=False)
    batches: Batches = field(init=False)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    changed: anyio.Event = field(default_factory=anyio.Event)

    def __post_init__(self) -> None:
        self.levels = deque(maxlen=self.tuning.recent * 4)
        self.recent = RecentAnswers(self.tuning)
        self.aimd = Aimd(self.tuning)
        self.pacer = Pacer(self.tuning)
        self.batches = Batches(self.tuning)
        self.leg_share = self.tuning.leg_share

    # -- the level ------------------------------------------------------------------------------

    def set_tokens(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.levels.append((at, tokens, tokens + self.in_flight_cost))

    def peak_since(self, moment: float, *, in_flight: bool = False) -> float:
        """The most tokens the model held from ``moment`` until now; with ``in_flight``, the most
        the server can have held: the model's level plus what was in flight (a grant takes its
        tokens from the model when it is sent, from the server only when it arrives there)."""
        peak = self.tokens + (self.in_flight_cost if in_flight else 0.0)
        for at, tokens, held in reversed(self.levels):
            peak = max(peak, held if in_flight else tokens)
            if at <= moment:
                break
        return peak

    def level_at(self, moment: float) -> float:
        """The tokens the model held at ``moment`` (the level of the last change before it)."""
        for at, tokens, _ in reversed(self.levels):
            if at <= moment:
                return tokens
        return self.tokens

    def gain(self, room: float = math.inf) -> float:
        """Tokens one credit adds for us: the refill (no more than the ``room`` the bucket had
        for it) less what other programs take of it."""
        # Whole tokens, rounded up from a quarter: the server's bucket and the other program deal
        # in whole tokens, and withholding too little costs a 429 every second.
        taken = math.floor(self.external_rate + 0.75)
        return max(0.0, min(self.rate, room) - taken)

    def set_limits(self, rate: float, capacity: float, now: float) -> None:
        """The server's limits as a response reports them; a change restarts the checks."""
        if (rate, capacity) == (self.rate, self.capacity):
            return
        if self.known:
            self.limits_changed_at = now
            self.checked_credits = 0
        self.rate, self.capacity = rate, capacity

    def learning(self, now: float) -> bool:
        """Whether responses teach about phase and neighbours (not straddling a limits change)."""
        return now - self.limits_changed_at >= self.tuning.learning_pause

    def leg(self, round_trip: float = math.inf) -> float:
        """Seconds a request surely spends on its way to the server: on a slow wire, a share of
        the shortest round trip among the recent ones and ``round_trip`` (0 on a fast one). At
        1 s of latency a response is then dated by when the server handled it more closely than
        anywhere in a whole second. (Spending a credit that long before its boundary reached the
        whole rate at 1 s, but a server that spends its latency before its limiter then refused a
        burst: the model's peak level in the arc is only safe at our own sending times.)"""
        shortest = min(self.recent.shortest_round_trip(), round_trip)
        if not math.isfinite(shortest) or shortest < self.tuning.slow_round_trip:
            return 0.0
        return self.leg_share * shortest

    def refused_on_the_wire(self) -> None:
        """A 429 on a slow wire: the way to the server may be shorter than ``leg_share``
        assumed (a slow backend behind the limiter spends the latency on the way back), so trust
        half as much of the round trip from now on; a few refusals bring the model back to
        dating by ``[sent, received]`` alone."""
        if self.slow_wire():
            self.leg_share = self.leg_share / 2 if self.leg_share > 0.05 else 0.0

    def paced(self, cost: float) -> bool:
        """Whether requests of ``cost`` go paced (see ``pacing``) rather than at each credit."""
        return self.pacer.started and self.pacer.applies(self.rate, self.capacity, cost)

    def slow_wire(self, round_trip: float = math.inf) -> bool:
        """Whether the shortest round trip among the recent ones and ``round_trip`` (an answer
        not remembered yet: the first one decides how its tokens are spent) is a slow wire's."""
        shortest = min(self.recent.shortest_round_trip(), round_trip)
        return math.isfinite(shortest) and shortest >= self.tuning.slow_round_trip

    # -- grants ---------------------------------------------------------------------------------

    def grant(self, family: str, cost: float, now: float) -> Grant:
        """Hand out ``cost`` tokens' worth of permission (the level is the caller's business)."""
        grant = Grant(
            family=family,
            cost=cost,
            sent=now,
            bucket=self,
            granted_before=self.granted,
            in_flight_before=self.in_flight_cost,
        )
        self.granted += cost
        self.pacer.take(cost, now)
        self.in_flight += 1
        self.in_flight_cost += cost
        if self.levels and self.levels[-1][0] == now:  # the level it was just taken from
            self.levels[-1] = (now, self.tokens, self.tokens + self.in_flight_cost)
        return grant

    def settle(self, grant: Grant) -> bool:
        """Count ``grant`` as answered; ``False`` when it already was."""
        if grant.settled:
            return False
        grant.settled = True
        self.in_flight -= 1
        self.in_flight_cost -= grant.cost
        return True

    def handled_before(self, grant: Grant, moment: float) -> float:
        """Cost of the grants in flight when ``grant`` was made whose answers show them handled
        by the server before ``moment``: they cannot have come after it."""
        return sum(
            seen.cost
            for seen in self.recent.within(grant.sent, moment)
            if seen.granted_before < grant.granted_before
        )

    def unanswered_at(self, moment: float) -> float:
        """Cost of the grants not answered by ``moment``, so possibly processed after it (all of
        them when the recent responses do not reach back that far). Answered means handled by
        the server, as dated by the response: at 1 s of latency, an answer still on its way back
        at ``moment`` took its token long before."""
        last = self.recent.last_by(moment)
        return self.granted if last is None else self.granted - last.answered

    # -- credits and evidence -------------------------------------------------------------------

    def note_credit(self, moment: float, boundary_from: float) -> None:
        """The bookkeeping of a credit, whether counted or seen in a response: what was granted
        before it is not in the bucket any more, and the evidence gathered for the refill it
        stands for (the basis, the chain of answers) is spent."""
        self.last_credit = moment
        self.boundary_from = boundary_from
        self.granted_at_credit = self.granted
        self.credits.append(moment)
        self.ceiling = math.inf
        self.found = 0.0
        self.basis = None
        self.chain = None
        self.probes = ()

    def holds_refills_after(self, seen: Observation) -> bool:
        """Whether the model holds no refill of a boundary later than ``seen``'s processing.

        After a credit the model holds refills up to the credit's boundary; after the first
        response (or one that proved a refill), exactly those in ``basis``.
        """
        if seen.handled_from >= self.last_credit - self.tuning.credit_margin:
            return True
        basis = self.basis
        return basis is not None and (seen is basis or seen.handled_from >= basis.handled_by)

    def follow_chain(self, grant: Grant, remaining: float, throttled: bool, *, exact: bool) -> None:
        """Start a chain at a response that holds the model's refills and had nothing else in
        flight (its ``remaining`` is the level); extend it with later answers; a 429 breaks it."""
        if throttled:
            self.chain = None
        elif exact and self.in_flight == 0:
            self.chain = Chain(top=remaining, granted_before=self.granted, low=remaining)
        elif self.chain is not None:
            self.chain.add(grant, remaining)

    def proven_level(self) -> float | None:
        """The level the last refill met, when an unbroken chain of answers proves it."""
        chain = self.chain
        return None if chain is None else chain.level_before_refill(self, self.tuning.tolerance)

    def cap_by_answer(self, upper: float) -> float:
        """The most the server holds now, by this answer's upper bound and every one since the
        last credit: within a server second the bucket only goes down, so an answer arriving
        late with a higher ``remaining`` (handled before the others) proves nothing above the
        lowest. Without this, a late answer raised the model to tokens another process had
        already taken, and the next wave was refused."""
        self.ceiling = min(self.ceiling, upper + self.granted)
        return self.ceiling - self.granted

    def spend_in_waves(self) -> None:
        """Send half of what the model holds now (rounded down: two processes halving nine must
        not take ten), and the rest only once those answers are in: another program taking
        tokens at the same moment (another syncer process on the same API client, which found
        the same tokens) shows up in the first half's answers, before the second half asks for
        tokens that are gone. A last token goes alone."""
        self.reserve = math.ceil(self.tokens / 2) if self.tokens >= 2 else 0.0
        self.reserved_at = self.granted

    def answered(self) -> None:
        """After any answer: when it was the last of a wave, the model now agrees with the
        server, and a credit checks out if nothing went missing (no other program took a share
        the model did not withhold). The next wave goes either way, sized by the corrected
        model: all of it when the bucket is ours alone, half of it again while another program
        draws on it (two processes halving what each sees never take more than is there). Then
        the waiting workers look again."""
        if self.reserve and not self.in_flight and self.granted > self.reserved_at:
            checked = self.external_this_second < self.tuning.tolerance
            self.checked_credits = self.checked_credits + 1 if checked else 0
            if self.external_rate + self.external_this_second > self.tuning.tolerance:
                self.spend_in_waves()
            else:
                self.reserve = 0.0
        self.notify()

    def send_blocked_probe(self, now: float) -> None:
        """Credits will not cover a request (others seem to take every refill): one goes anyway
        now and then, so that changed limits or a neighbour that stopped are noticed."""
        self.blocked_probe_at = now + self.blocked_probe_every
        self.set_tokens(0.0, now)

    def blocked_probe_refused(self) -> None:
        """Double the interval to the next probe (up to ``blocked_probe_cap``): a process of ours
        holding the whole refill would otherwise see one refused a second for ever."""
        self.blocked_probe_every = min(2 * self.blocked_probe_every, self.tuning.blocked_probe_cap)

    def blocked_probe_passed(self, now: float, remaining: float) -> None:
        """The probe proves that others leave tokens now (another process finished, say): the
        next one is a second away, and the share withheld for others comes down to what this
        answer shows them taking (never up). Found tokens alone would not move it: with the
        phase unknown (a blocked bucket learns little of it), an answer may always hold a refill
        not yet credited."""
        self.blocked_probe_every = 1.0
        self.blocked_probe_at = min(self.blocked_probe_at, now + 1.0)
        taken = max(0.0, self.rate - remaining - 1.0)
        self.external_rate = min(self.external_rate, taken)

    def notify(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()
