"""The answers the paced model keeps (``Reading``), and the lowest of them from any point on
(``Lowest``), found by bisection: a measurement of others' rate needs both at every answer."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter


@dataclass(frozen=True, slots=True)
class Reading:
    """One answer as the paced model keeps it: when the server handled the request (about),
    what remained then, and how many of our tokens the server had taken by then (``ours_by``)."""

    handled: float
    remaining: float
    ours: float


@dataclass(slots=True)
class Lowest:
    """Of the readings kept, those lower by ``key`` than every one kept after them, oldest first,
    each with its number in the order kept (a monotonic queue, updated as readings come and go).

    The lowest of the readings from any number on is the first of these from there on; and a
    test that holds of every reading at or below some value holds, among these, of a first run
    only. So a measurement finds its base and the lowest ``remaining`` since by bisection,
    rather than by walking back through a window of answers (thousands at a high rate).
    """

    key: Callable[[Reading], float]
    entries: deque[tuple[int, Reading]] = field(default_factory=deque)

    def add(self, number: int, reading: Reading) -> None:
        entries, value = self.entries, self.key(reading)
        while entries and self.key(entries[-1][1]) >= value:
            entries.pop()
        entries.append((number, reading))

    def forget(self, number: int) -> None:
        """The oldest reading kept, ``number``, is forgotten."""
        if self.entries and self.entries[0][0] == number:
            self.entries.popleft()

    def first_from(self, number: int) -> Reading | None:
        """The lowest of the readings numbered ``number`` on (the latest of equals), if any."""
        entries = self.entries
        index = bisect_left(entries, number, key=_NUMBER)
        return entries[index][1] if index < len(entries) else None

    def last_where(self, low_enough: Callable[[Reading], bool]) -> tuple[int, Reading] | None:
        """The latest reading ``low_enough`` holds of (it must hold of every reading lower than
        one it holds of): lower than every reading after it, it is among these."""
        entries = self.entries
        index = bisect_left(entries, True, key=lambda entry: not low_enough(entry[1]))
        return entries[index - 1] if index else None


_NUMBER = itemgetter(0)
"""The number of an entry of ``Lowest``."""
