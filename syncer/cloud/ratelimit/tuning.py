"""Every tuning constant of the limiter, in one frozen value that the benchmark can sweep.

The defaults are what the sweep in ``bench/results/ratelimit.md`` settled on; a ``Tuning`` with
other values (``dataclasses.replace(DEFAULT_TUNING, ...)``) is handed to ``RateLimiter`` to try
them without editing code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tuning:
    """How cautious the limiter is, and how fast it believes evidence."""

    credit_margin: float = 0.005
    """Seconds added after the latest possible server boundary before crediting its tokens."""
    late_credit: float = 0.05
    """Seconds after a credit within which the tokens it added count as taken at once
    (``Phase.following``): more than a probe's worth still held then (a stalled event loop
    woke its waiters late) makes the next credit wait for the arc's late end."""
    same_credit: float = 0.5
    """Two credit times closer than this stand for the same server boundary (phase moved)."""
    tolerance: float = 0.5
    """Header values are whole numbers; anything closer than this is equal."""
    min_sleep: float = 1e-3
    """Shorter waits are rounded up: a clock far from its epoch cannot add less, and it is noise."""
    phase_bins: int = 250
    """Resolution of the phase estimate within one second."""
    phase_decay: float = 0.995
    """How fast old phase evidence fades, so that a server clock that moves is followed."""
    probe_width: float = 0.05
    """While the phase estimate is wider than this, tokens held back probe inside the arc."""
    probe_spacing: float = 0.1
    """Seconds between the probes held back inside a wide arc (``Credits._probes``): the arc is
    left about this wide by the first second of probing."""
    probe_share: float = 0.15
    """Most of a refill held back for those probes: each one still held at the boundary is lost
    to the cap of a bucket no larger than a refill (a bucket of ten then kept nine a second)."""
    costly_probe_width: float = 0.5
    """The same where the held token costs a refill's worth (burst < rate + cost): a wide arc only
    delays each credit a little, a token held through the refill is lost to the cap every second."""
    evidence_to_switch: float = 5.0
    """Partition evidence needed before the buckets split per family or merge back."""
    evidence_decay: float = 0.8
    """What the other side's partition evidence keeps at each new observation."""
    shared_weight: float = 0.5
    """Weight of distinct ``remaining`` values across families (weak evidence of one bucket)."""
    recent: int = 64
    """Responses remembered per bucket (and per family for the partition)."""
    external_weight: float = 1.0
    """Share of a proven loss (a 429, or an exact response) added to the other program's rate."""
    found_weight: float = 0.3
    """Share of tokens found above the model taken off it: a lower bound may count a refill the
    model has not credited yet, so it is weaker evidence and must not undo a proven share."""
    checked_credits: int = 2
    """Credits spent in two waves (half, then the rest once the first half is answered) until this
    many in a row check out: another program taking its share right after each refill shows up in
    the first wave's answers, before the second wave asks for tokens that are no longer there."""
    blocked_probe_cap: float = 16.0
    """Most seconds between probes of a bucket that credits cannot cover (others take every
    refill): each refused one doubles the interval, one that passes sets it back to a second.
    Another syncer process holding the whole refill would otherwise refuse one a second for ever;
    a neighbour that stops is still noticed within this many seconds."""
    slow_round_trip: float = 0.1
    """A shortest round trip longer than this is a slow wire. There responses are dated by when
    the server handled them (``leg_share``), and there are no two waves: the first wave's
    answers would come back a latency later, each credit waiting for them (at 1 s, half the
    rate); reconciling with ``remaining`` still finds another program, a latency late. Below it
    the wire's time is noise next to the phase's precision, and ignored."""
    leg_share: float = 0.3
    """Share of the shortest round trip taken as the way to the server on a slow wire (well below
    one half: the legs need not be equal, and jitter makes the shortest one shorter). A gateway
    with a slow backend behind its limiter spends most of the latency on the way back: where the
    share proves too much, each 429 halves it (per bucket)."""
    learning_pause: float = 2.0
    """Seconds after the limits changed during which responses teach nothing about the phase or
    another program (they straddle two regimes)."""
    pace_headroom: float = 0.25
    """Pacing applies where the bucket holds a request, a refill and this share of a refill more
    (``Pacer.applies``); below that each refill is spent right after the server's boundary."""
    pace_gain: float = 0.5
    """Share of the way the paced model moves towards each answer's estimate of the level."""
    pace_gain_unplaced: float = 0.25
    """The same for an answer whose place in the server's second is unknown: it stands anywhere
    on the sawtooth (half a refill either side of the line where others draw through the second,
    whose phase answers place late), so it is worth less."""
    others_window: float = 2.0
    """Seconds between the two answers whose ``remaining`` measure other programs' rate: the
    refills between them are counted to within one, so longer is more exact and slower."""
    others_prior: float = 0.5
    """Share of a refill other programs may take, held in the floor from the start until their
    rate is first measured (two windows at most), then fading over a window (the tokens are not
    lost, only spent a little later; the floor's cap bounds it). On a slow wire, held only from
    the first evidence of another program (``others_evidence``)."""
    others_evidence: float = 1.5
    """Tokens gone that our own grants do not explain (the bucket model's count this second
    plus its rate of others' draws) that prove another program: more than one, as a provisional
    phase can misplace one token."""
    others_deviations: float = 3.0
    """Deviations of a Poisson count of others' draws (over the age of our evidence) held in
    the floor beyond their average."""
    others_settle: float = 2.0
    """Seconds over which those measurements are smoothed."""
    others_every: float = 0.02
    """Seconds at least from one of those measurements to the next: each is weighted by the time
    since the last, so measuring at every answer of a bucket answering a thousand a second (each
    a scan of the window's answers) spent CPU for the same estimate."""
    pace_phase_width: float = 0.2
    """An arc narrower than this places each answer on the stepwise refill's sawtooth, so that
    the paced model takes in its mean line; a wider one leaves each answer half a refill off."""
    shape_weight: float = 0.02
    """Weight of each answer in the learnt sawtooth (how far the level falls through a second)."""
    shape_evidence: float = 0.02
    """Weighted evidence (squared offsets in the second) before the learnt sawtooth is used."""
    offset_weight: float = 0.1
    """Weight of each answer in the typical time from sending to the server's handling."""
    pace_slack: float = 0.02
    """Seconds of the rate held in the floor for the noise in dating answers."""
    pace_horizon: float = 0.4
    """Seconds of other programs' draws held in the floor beyond the age of our evidence."""
    batch_round_trip: float = 0.3
    """A shortest round trip at least this long sends each refill of a bucket no larger than a
    refill as one batch (``batches``). Below it answers date the server's second closely enough
    for credits (measured in virtual time: 0.98-1.0 of the rate at 250 ms, 0.5-0.9 at 500 ms,
    0.44-0.48 at 1 s; in real time at 250 ms credits read 1.18x the ideal, batches 1.34x, their
    learning costing more than it gains there)."""
    batch_memory: float = 2.0
    """Seconds after an answer quicker than ``batch_round_trip`` before the bucket may go in
    batches: the answers of a burst come back slowest last, and a wire whose jitter straddles
    the threshold must not switch models between the quick and the slow ones."""
    batch_grace: float = 0.1
    """Seconds after a batch's moment during which requests still join it (on a slow wire, where
    each refill goes as one batch: ``batches``); later ones wait for the next batch."""
    batch_late: float = 0.3
    """Seconds after a batch's moment until which a request that was waiting for it by the end of
    its grace still joins it (waiters get their turns one at a time on a busy event loop)."""
    batch_room: float = 0.3
    """Seconds of room a cut batch's answers leave between two refills (one second less their
    spread) above which the moment moved to the middle of that room is trusted at once; below
    it batches take half a refill until one lands whole there."""
    batch_bins: int = 100
    """Resolution of the sending moment within our second."""
    batch_doubt_width: float = 0.1
    """How far either side of a batch that did not land whole its moment is doubted."""
    batch_decay: float = 0.98
    """What old doubt keeps at each judged batch, so that a wire that changes is followed."""
    batch_others_gain: float = 0.3
    """Share of the way the estimate of other programs' take moves towards each batch's."""
    aimd_start: float = 1.0
    """Requests a second without headers, before the first 429."""
    aimd_floor: float = 0.25
    """The lowest rate AIMD falls to."""
    aimd_cooldown: float = 1.0
    """429s within this many seconds of a cut count as the same cut."""


DEFAULT_TUNING = Tuning()
