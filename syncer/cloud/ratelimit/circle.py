"""The circle of one second (estimates of a moment modulo a second): runs of bins, distances."""

from __future__ import annotations

from collections.abc import Sequence


def longest_run(flags: Sequence[bool]) -> tuple[int, int]:
    """The length of the longest run of set bins, going round the circle, and its last bin (the
    first such run, counting from bin 0). Asked for each piece of evidence, hence done by the
    bytes methods rather than a loop: the circle twice round, split at the unset bins."""
    bins = len(flags)
    twice = bytes(flags) * 2
    longest = min(bins, max(map(len, twice.split(b"\x00"))))
    if longest == 0:
        return 0, 0
    return longest, (twice.find(b"\x01" * longest) + longest - 1) % bins


def apart(first: float, second: float) -> float:
    """How far apart two moments are on the circle of one second (at most half a second)."""
    distance = abs(first - second) % 1.0
    return min(distance, 1.0 - distance)
