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

from collections.abc import Sequence
from dataclasses import dataclass

from syncer.cloud.headers import BURST_CAPACITY, REMAINING, REPLENISH_RATE, REQUESTED_TOKENS
from syncer.probe.context import KIND_PATHS, ProbeContext
from syncer.probe.report import Check, differs, differs_without_setting, holds, unknown
from syncer.probe.wire import Answer

HEADERS = (BURST_CAPACITY, REPLENISH_RATE, REQUESTED_TOKENS, REMAINING)
ROUNDS = 3
"""Interleaved pairs per comparison (after the lead request): 2 * ROUNDS + 2 requests."""


def check_headers(answer: Answer) -> Check:
    present = {name.lower(): (name, value) for name, value in answer.headers.items()}
    found = [f"{present[h][0]}: {present[h][1]}" for h in HEADERS if h in present]
    missing = [h for h in HEADERS if h not in present]
    expected = "all four on every answer: " + ", ".join(HEADERS)
    observed = "; ".join(found) or "none"
    if missing:
        observed += " (missing: " + ", ".join(missing) + ")"
        advice = (
            "syncer learns the rate from these headers; without them it paces by 429 refusals "
            "alone: lower cloud.max_in_flight to spare the firm's other programs"
        )
        return differs_without_setting("ratelimit.headers", expected, observed, advice)
    return holds("ratelimit.headers", expected, observed)


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
    """Whether two streams draw from one bucket; ``None`` when the answers cannot tell."""
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
