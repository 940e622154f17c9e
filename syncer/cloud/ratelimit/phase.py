"""Where the server's whole seconds begin on our monotonic clock.

The server refills its bucket at each whole second of *its* clock. Where our clock's seconds are
cut by the server's is a phase in [0, 1). It starts provisional (the arrival of the first response:
every later interval of one second then contains exactly one server boundary, so crediting at its
end is always safe) and is narrowed by windows that certainly contain a boundary, or certainly do
not. Tokens are credited at the late end of the estimate, so the model never spends a token before
the server has it.
"""

from __future__ import annotations

import math

from syncer.cloud.ratelimit.circle import longest_run
from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning

_TOUCHING = 1e-9
"""Seconds by which an arc and a window may overlap and still only touch (rounding)."""


class Phase:
    """The estimate of the server's second boundary, as an arc of the phase circle.

    The phase of [0, 1) is cut into bins; each piece of evidence ("a boundary lies in this window",
    "no boundary lies in that one") adds doubt to the bins it rules out, old doubt fading slowly so
    that a server clock that moves is followed. The estimate is the arc of least-doubted bins;
    until evidence arrives it is the whole second ending at the first response (``assume``).
    """

    def __init__(self, tuning: Tuning = DEFAULT_TUNING) -> None:
        self._tuning = tuning
        self._anchor: float | None = None
        self._doubt = [0.0] * tuning.phase_bins
        self._centres = [(index + 0.5) / tuning.phase_bins for index in range(tuning.phase_bins)]
        """Where each bin's centre lies in the second (asked for every bin a window covers)."""
        self._scale = 1.0
        """The doubt of a bin is ``_doubt[bin] * _scale`` (plus what all bins share)."""
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
        """Fade old doubt and add this evidence's. Asked for nearly every answer, so done in
        relative terms: only differences between bins count (``_derive``), so doubting the bins
        outside the window is doubting those inside it less, and the fading is one factor kept
        aside (``_scale``) rather than applied to every bin."""
        span = before - after
        bins = len(self._doubt)
        self._scale *= self._tuning.phase_decay
        if self._scale < 1e-6:
            self._doubt = [d * self._scale for d in self._doubt]
            self._scale = 1.0
        step = (1.0 if doubt_inside else -1.0) / self._scale
        start = math.floor((after % 1.0) * bins - 0.5)  # the bin centred at or before ``after``
        entered = False
        doubt, centres = self._doubt, self._centres
        for offset in range(bins + 1):
            index = (start + offset) % bins
            if (centres[index] - after) % 1.0 < span:
                doubt[index] += step
                entered = True
            elif entered:
                break
        self._derive()

    def _derive(self) -> None:
        """The arc is everything outside the longest run of doubted bins."""
        least = min(self._doubt)
        threshold = least + 0.5 / self._scale
        doubted = [d > threshold for d in self._doubt]
        if not any(doubted):
            return
        bins = len(doubted)
        longest, longest_end = longest_run(doubted)
        self.start = ((longest_end + 1) % bins) / bins
        self.width = (bins - longest) / bins

    @property
    def placed(self) -> bool:
        """Whether the arc is narrow enough (``Tuning.pace_phase_width``) to place answers."""
        return self.width <= self._tuning.pace_phase_width

    def fraction(self, after: float, until: float) -> float | None:
        """How far into the server's second a moment in ``[after, until]`` lies (0 at its
        boundary), by the middle of the arc; ``None`` when the arc is not ``placed`` or when a
        boundary may fall inside the window (the moment may be on either side of it, a whole
        refill apart)."""
        if not self.placed:
            return None
        late = self.start + self.width
        if late + math.ceil(after - late) - self.width <= until:
            return None
        return ((after + until) / 2 - (self.start + self.width / 2)) % 1.0

    def boundaries_between(self, after: float, until: float) -> int | None:
        """The server boundaries in ``(after, until]`` by the middle of the arc; ``None`` while
        the arc is wider than ``Tuning.pace_phase_width``."""
        if not self.placed:
            return None
        middle = self.start + self.width / 2
        return math.floor(until - middle) - math.floor(after - middle)

    def credit_after(self, moment: float) -> float:
        """The first credit time (late end of the arc plus margin) not before ``moment``."""
        late = self.start + self.width + self._tuning.credit_margin
        return late + math.ceil(moment - late)

    def next_credit(self, last_credit: float) -> float:
        """The credit that follows ``last_credit`` (credits closer than half a second apart stand
        for the same server boundary, seen through an estimate that has since moved). Never
        later than a second after it: each credit comes after its boundary, and the next boundary
        is one second of the server's clock later, wherever the estimate has moved since (the
        provisional arc's credits and a narrowed arc's need not line up; at 1 s of latency,
        waiting for the narrowed arc's late end cost up to half a second of the rate)."""
        following = self.credit_after(last_credit + self._tuning.same_credit)
        return min(following, last_credit + 1.0) if math.isfinite(last_credit) else following

    def earliest_boundary_before(self, credit: float) -> float:
        """The earliest the server boundary that ``credit`` stands for can happen."""
        return credit - self._tuning.credit_margin - self.width

    def following(
        self, last_credit: float, boundary_from: float, held: bool
    ) -> tuple[float, float]:
        """The credit after ``last_credit`` (whose boundary happened at ``boundary_from`` at the
        earliest), and the earliest its own boundary can happen.

        That boundary is one second of the server's clock after the last one: within the last
        credit's window moved on by a second, and within the arc. Where the arc leaves one
        stretch of that window, the credit goes at its late end, however soon after the last
        credit that is. Where it leaves two, either may hold the boundary. When the model
        ``held`` the last credit's tokens past ``Tuning.late_credit`` (an event loop stalled
        past the moment), a credit a second on would not know whether they were spent after the
        earlier stretch's refill, which the cap then took: the credit waits for the later arc's
        late end and stands for it, so no refill is counted twice (at worst one is never
        counted). Otherwise it comes a second on, as before, its window from ``late_credit``
        after the last credit (whose tokens were spent by then). Where the arc leaves nothing
        (the estimate has moved), ``next_credit`` decides, and the window reaches back to
        where history puts it.
        """
        margin = self._tuning.credit_margin
        earliest, latest = boundary_from + 1.0, last_credit - margin + 1.0
        # Arcs meeting the window (not only touching it: a provisional arc's edges are its own).
        first = math.ceil(earliest - self.start - self.width + _TOUCHING)
        last = math.floor(latest - self.start - _TOUCHING)
        arc_start = self.start + last
        if first == last:
            return min(latest, arc_start + self.width) + margin, max(earliest, arc_start)
        if first < last and held:
            return arc_start + self.width + margin, arc_start
        if first < last:
            return latest + margin, max(
                earliest, min(arc_start, last_credit + self._tuning.late_credit)
            )
        credit = self.next_credit(last_credit)
        return credit, min(earliest, self.earliest_boundary_before(credit))

    def earliest_next_boundary(self, last_credit: float, boundary_from: float) -> float:
        """The earliest the server boundary after ``last_credit``'s (which happened at
        ``boundary_from`` at the earliest) can happen, as the credit standing for it places it
        where the last credit's tokens were held (``following``: where the arc leaves two
        stretches, the later one's start)."""
        return self.following(last_credit, boundary_from, held=True)[1]

    def second_of(self, sent: float, received: float) -> int | None:
        """Which of our credit intervals a request was surely processed in, if any."""
        if self.provisional:
            return None
        credit = self.credit_after(sent)
        if credit > sent:
            credit -= 1.0  # the last credit at or before the sending
        processed_within = received < self.earliest_boundary_before(credit + 1.0)
        return math.floor(credit) if processed_within else None
