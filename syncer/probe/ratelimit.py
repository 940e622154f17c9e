"""``ratelimit.headers`` and ``ratelimit.keying``: what the bucket says and whose bucket it is.

Keying is found from ``remaining`` alone. Two streams of requests (two sessions on one route, or
one session on two route families) are interleaved, the first stream one request ahead. Within one
server second no token comes back (Spring refills in whole seconds), so each answer's
``remaining`` is exactly the previous answer's minus its cost when both streams share a bucket,
and exactly the same stream's previous answer's minus its cost when they do not. Each answer votes
for the prediction it matches; seconds are read from the server's ``Date`` header, and a stray
answer (a refill on a second boundary, another program's request) matches neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from syncer.assumptions import RateLimitHeaders
from syncer.probe.context import KIND_PATHS, ProbeContext
from syncer.probe.report import Check, differs, differs_without_setting, holds, unknown
from syncer.probe.wire import Answer

HEADERS = tuple(RateLimitHeaders.model_fields)
"""The four headers, by their setting's names (``burst_capacity``...)."""
ROUNDS = 3
"""Interleaved pairs per comparison (after the lead request): 2 * ROUNDS + 2 requests."""
ATTEMPTS = 3
"""Comparisons tried before a pair of streams is called unclear: a slow wire or a busy server
can spread one comparison's answers over several server seconds (they are then set aside), and
another program's draws can spoil one; either is rare twice running."""


def _letters(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def header_names(answer: Answer, configured: RateLimitHeaders) -> dict[str, str | None]:
    """Per header, the name the answer carries it under: the configured one, else a look-alike
    (a rate-limit header ending the same way, e.g. ``X-Rate-Limit-Remaining``), else ``None``."""
    sent = {name.lower(): name for name in answer.headers}
    found: dict[str, str | None] = {}
    for header in HEADERS:
        name = getattr(configured, header)
        suffix = _letters(header)
        alike = [
            original
            for lowered, original in sent.items()
            if "ratelimit" in _letters(lowered) and _letters(lowered).endswith(suffix)
        ]
        found[header] = sent[name.lower()] if name.lower() in sent else next(iter(alike), None)
    return found


def check_headers(answer: Answer, configured: RateLimitHeaders) -> Check:
    found = header_names(answer, configured)
    expected = "all four on every answer: " + ", ".join(getattr(configured, h) for h in HEADERS)
    observed = "; ".join(
        f"{name}: {answer.headers[name]}" for name in found.values() if name is not None
    )
    missing = [getattr(configured, h) for h, name in found.items() if name is None]
    if missing:
        observed = (observed or "none") + " (missing: " + ", ".join(missing) + ")"
        advice = (
            "syncer learns the rate from these headers; without them it paces by 429 refusals "
            "alone: lower cloud.max_in_flight to spare the firm's other programs"
        )
        return differs_without_setting("ratelimit.headers", expected, observed, advice)
    if _renamed(found, configured):
        return differs("ratelimit.headers", expected, observed, api__ratelimit_headers=found)
    return holds("ratelimit.headers", expected, observed)


def _renamed(found: Mapping[str, str | None], configured: RateLimitHeaders) -> bool:
    return any(
        name is not None and name.lower() != getattr(configured, h).lower()
        for h, name in found.items()
    )


def observed_names(answer: Answer, configured: RateLimitHeaders) -> RateLimitHeaders:
    """The names to read rate-limit headers under from now on: the firm's where it renamed one."""
    found = {h: name for h, name in header_names(answer, configured).items() if name}
    return configured.model_copy(update=found)


@dataclass(frozen=True, slots=True)
class _Seen:
    stream: int
    remaining: float
    cost: float
    second: str | None


async def check_keying(ctx: ProbeContext, second_token: str) -> Check:
    sessions = await _shared(ctx, [(ctx.token, "entities"), (second_token, "entities")])
    routes = await _shared(ctx, [(ctx.token, "roles"), (ctx.token, "users")])
    expected = ctx.api.ratelimit_keying
    keying = _keying(sessions, routes)
    evidence = f"two sessions: {_word(sessions)}; two route families: {_word(routes)}"
    if keying is None:
        advice = "probe again while no other program uses this API client"
        return unknown("ratelimit.keying", expected, f"cannot tell ({evidence})", advice)
    observed = f"{keying} ({evidence})"
    if keying != expected:
        return differs("ratelimit.keying", expected, observed, api__ratelimit_keying=keying)
    return holds("ratelimit.keying", expected, observed)


def _keying(sessions: bool | None, routes: bool | None) -> str | None:
    if sessions is False:
        return "session"
    if routes is False:
        return "route" if sessions else None
    return "client" if sessions and routes else None


def _word(shared: bool | None) -> str:
    return "unclear" if shared is None else ("one bucket" if shared else "separate buckets")


async def _shared(ctx: ProbeContext, streams: Sequence[tuple[str, str]]) -> bool | None:
    """Whether two streams draw from one bucket; ``None`` when no comparison could tell."""
    for _ in range(ATTEMPTS):
        shared = await _compare(ctx, streams)
        if shared is not None:
            return shared
    return None


async def _compare(ctx: ProbeContext, streams: Sequence[tuple[str, str]]) -> bool | None:
    """One interleaved comparison of two streams; ``None`` when its answers cannot tell."""
    order = [0] + [0, 1] * ROUNDS + [0]
    seen: list[_Seen] = []
    for stream in order:
        token, kind = streams[stream]
        answer = await ctx.wire.get(KIND_PATHS[kind], token, page=ctx.first_page, pageSize=1)
        rate = answer.rate
        if answer.status == 200 and rate.remaining is not None and rate.remaining >= 0:
            seen.append(_Seen(stream, rate.remaining, rate.requested or 1.0, answer.second))
    together = apart = 0
    for index, current in enumerate(seen):
        before = seen[index - 1] if index else None
        own = next((s for s in reversed(seen[:index]) if s.stream == current.stream), None)
        if before is None or own is None or before is own or before.remaining == own.remaining:
            continue
        if current.second is None or not current.second == before.second == own.second:
            continue
        together += current.remaining == before.remaining - current.cost
        apart += current.remaining == own.remaining - current.cost
    if max(together, apart) < 2 or together == apart:
        return None
    return together > apart
