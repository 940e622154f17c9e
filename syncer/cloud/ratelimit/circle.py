"""Runs of bins on the circle of one second (estimates of a moment modulo a second)."""

from __future__ import annotations

from collections.abc import Sequence


def longest_run(flags: Sequence[bool]) -> tuple[int, int]:
    """The length of the longest run of set bins, going round the circle, and its last bin."""
    bins = len(flags)
    longest, longest_end, run = 0, 0, 0
    for index in range(2 * bins):  # twice round, for a run that wraps
        run = run + 1 if flags[index % bins] else 0
        if run > longest:
            longest, longest_end = min(run, bins), index % bins
    return longest, longest_end
