"""Reading every page of a list through a window of requests in flight.

Read one page after another and a list costs pages x latency: 500 pages at 250 ms take two
minutes that the rate limit would let pass in seconds. So pages k+1 ... k+w are asked for before
page k has answered, ``w`` being the client's in-flight target (``syncer.cloud.in_flight``),
asked again each time a page is launched so that the window follows the latency and the rate as
they are learned. Nobody says how long a list is: the first short or empty page ends it, and
what was asked for past it is dropped (still waiting for the limiter: cancelled before it costs
a token; already on the wire: its answer is not waited for). Pages are put back in page order,
so the caller sees exactly what reading one page after another would have shown.

A list expected to be small (a search, one group's members) starts with a window of one page and
opens it only once its first page comes back full: there are many such lists, and guessing past
the end of each would cost more than it saves. A list whose length is expected (a kind's objects,
which a nightly run finds as many of as desired state has rows) keeps its window within the pages
that length needs until they have all come back full: a firm of sixty rows read its five lists
with ten requests where five would do, each window's guesses leaving before the first page had
answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import anyio

from syncer.cloud.shapes import broken
from syncer.errors import syncer_error_in

PageFetch = Callable[[int], Awaitable[list[Any]]]
"""Fetch page ``n`` (1-based) of one list."""


@dataclass(slots=True)
class PagingStats:
    """Pages of every list read through one client."""

    pages: int = 0
    """Pages answered up to and including each list's last one."""
    past_end: int = 0
    """Pages asked for beyond a list's end: the window's price, at most a window per list. An
    upper bound on what they cost, as those still waiting for the limiter when the end showed
    were cancelled before taking a token."""


@dataclass(frozen=True, slots=True)
class PageBounds:
    """What a list may be: pages of ``size`` objects, at most ``max_pages`` of them. A server
    that answers the same full page again, or pages without end, would otherwise be read for
    ever; ``where`` names the list in the error that stops it."""

    size: int
    max_pages: int
    where: str


class _Window:
    """The pages of one list: launched in order, collected by number, ended by a short page."""

    def __init__(self, fetch: PageFetch, bounds: PageBounds) -> None:
        self._fetch = fetch
        self._size = bounds.size
        self._where = bounds.where
        self.answers: dict[int, list[Any]] = {}
        self.end: int | None = None
        """The number of the first short or empty page, once one answered."""
        self.full_through = 0
        """Every page up to this one answered full: the list certainly goes on past it."""
        self.changed = anyio.Event()

    def poke(self) -> None:
        """Look at the window again (an answer arrived, or something was learned)."""
        self.changed.set()
        self.changed = anyio.Event()

    async def read(self, number: int) -> None:
        items = await self._fetch(number)
        if self.end is not None and number > self.end:
            return
        self.answers[number] = items
        if len(items) < self._size:
            self.end = number
        # A page longer than asked counts as full, as reading one page at a time took it.
        while len(self.answers.get(self.full_through + 1, ())) >= self._size:
            following = self.full_through + 1
            if self.answers.get(self.full_through) == self.answers[following]:
                raise broken(self._where, f"page {following} repeats page {self.full_through}")
            self.full_through = following
        self.poke()

    def done(self) -> bool:
        return self.end is not None and self.full_through >= self.end - 1


async def read_pages(
    fetch: PageFetch,
    bounds: PageBounds,
    window: Callable[[bool], int],
    stats: PagingStats,
    *,
    small: bool,
    learning: Callable[[Callable[[], None]], AbstractContextManager[None]],
    expected_items: int | None = None,
) -> list[list[Any]]:
    """Every non-empty page of a list in page order, until its first short or empty page.

    ``window(needed)`` is the number of pages to keep in flight, asked each time a page answers
    and whenever ``learning`` calls back (the client learned something that may change it);
    ``needed`` says that every page it may launch is known to be needed (within an expected
    length), so none is spent for nothing.
    ``small`` lists keep one page in flight until their first page answers full; a list of
    ``expected_items`` keeps to the pages those need until they all answer full.
    """
    pages = _Window(fetch, bounds)
    expected_pages = None if expected_items is None else expected_items // bounds.size + 1
    try:
        with learning(pages.poke):
            launched = await _launch_until_done(pages, small, window, bounds, expected_pages)
    except BaseExceptionGroup as group:
        # The pages of a window fail together for one reason (credentials refused, Cloud
        # unreachable, a broken promise): callers turn that one error into an exit code.
        error = syncer_error_in(group)
        if error is None:
            raise
        raise error from None
    assert pages.end is not None
    stats.pages += pages.end
    stats.past_end += launched - pages.end
    return [pages.answers[n] for n in range(1, pages.end + 1) if pages.answers[n]]


async def _launch_until_done(
    pages: _Window,
    small: bool,
    window: Callable[[bool], int],
    bounds: PageBounds,
    expected_pages: int | None,
) -> int:
    """Keep the window full until the list's end is known and every page before it answered;
    returns how many pages were launched."""
    launched = 0
    async with anyio.create_task_group() as tg:
        while not pages.done():
            needed = expected_pages if pages.full_through < (expected_pages or 0) else None
            width = 1 if small and pages.full_through == 0 else max(1, window(needed is not None))
            # The window counts pages in flight, not pages past the last one with every page
            # before it answered: one slow answer on a jittery wire must not hold the rest back.
            limit = len(pages.answers) + width if pages.end is None else pages.end
            if needed is not None:
                limit = min(limit, needed)
            if launched < limit:
                if launched == bounds.max_pages:
                    more = f"more than {bounds.max_pages} pages (cloud.max_pages)"
                    raise broken(bounds.where, more)
                launched += 1
                tg.start_soon(pages.read, launched)
                await anyio.lowlevel.checkpoint()
            else:
                await pages.changed.wait()
        tg.cancel_scope.cancel()
    return launched
