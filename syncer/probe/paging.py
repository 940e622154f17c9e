"""``paging.*``: which page comes first, how large a page may be, and whether pages are stable.

Roles exist in every firm, so the first page number is found on them. The other checks use the
first page of every kind (read here, once, at the largest page size that works) and so need a
firm with enough objects to tell; with too few they answer ``unknown`` rather than guess.
"""

from __future__ import annotations

from syncer.cloud.shapes import field_of
from syncer.probe.context import KIND_PATHS, ProbeContext, Sample, guids_of, objects_of
from syncer.probe.report import Check, differs, holds, unknown
from syncer.probe.wire import CloudContractBroken

DOCUMENTED_DEFAULT_PAGE_SIZE = 25
STABLE_PAGES = 3
"""Pages of two objects compared with one page of six: how order across pages is checked."""


async def check_first_page(ctx: ProbeContext) -> Check:
    """Page 0 and page 1 of roles, one role each: page 0 is a page of its own only if the
    numbering starts there (a 1-based API refuses it or answers page 1 again)."""
    roles = KIND_PATHS["roles"]
    zero = guids_of(await ctx.wire.get(roles, ctx.token, page=0, pageSize=1))
    answer = await ctx.wire.get(roles, ctx.token, page=1, pageSize=1)
    one = guids_of(answer)
    if zero is None and one is None:
        # Every firm has roles: a list nobody can read leaves nothing else worth checking.
        raise CloudContractBroken(
            f"GET {roles} answered {answer.status} with {answer.shape()}, not a list of "
            "roles; the probe cannot go on"
        )
    expected = str(ctx.api.first_page)
    if zero and zero != one:
        observed = 0
    elif one:
        observed = 1
    else:
        return unknown("paging.first_page", expected, "no role could be read on page 0 or 1")
    ctx.first_page = observed
    text = f"{observed} (page 0 {'is its own page' if observed == 0 else 'is not a page'})"
    if observed != ctx.api.first_page:
        return differs("paging.first_page", expected, text, api__first_page=observed)
    return holds("paging.first_page", expected, text)


async def read_samples(ctx: ProbeContext) -> None:
    """The first page of every kind at the largest page size; on a 400, the largest accepted."""
    size = ctx.api.max_page_size
    answer = await ctx.page("roles", 0, size)
    if answer.status == 400:
        ctx.refused_size = size
        size = await _largest_accepted(ctx, size - 1)
        answer = await ctx.page("roles", 0, size)
    ctx.page_size = size
    for kind in KIND_PATHS:
        read = answer if kind == "roles" else await ctx.page(kind, 0, size)
        ctx.samples[kind] = Sample(objects_of(read) or [], size)


async def _largest_accepted(ctx: ProbeContext, high: int) -> int:
    low = 1
    while low < high:
        middle = (low + high + 1) // 2
        if (await ctx.page("roles", 0, middle)).status == 400:
            high = middle - 1
        else:
            low = middle
    return low


async def check_max_page_size(ctx: ProbeContext) -> Check:
    asked = ctx.api.max_page_size
    expected = f"{asked} accepted and honoured"
    if ctx.refused_size is not None:
        observed = f"{asked} refused (400); {ctx.page_size} is the largest accepted"
        return differs("paging.max_page_size", expected, observed, api__max_page_size=ctx.page_size)
    largest = ctx.largest_sample()
    if largest is None:
        return unknown("paging.max_page_size", expected, "no objects to page through")
    kind, sample = largest
    count = len(sample.objects)
    if sample.full:
        return holds("paging.max_page_size", expected, f"{asked} accepted, {count} {kind} answered")
    following = objects_of(await ctx.page(kind, 1, asked)) or []
    if following:
        observed = f"{asked} accepted but clamped: {count} {kind} answered, more on the next page"
        return differs("paging.max_page_size", expected, observed, api__max_page_size=count)
    observed = f"{asked} accepted; no kind has more than {count} objects to show a cap"
    return unknown("paging.max_page_size", expected, observed)


async def check_default_page_size(ctx: ProbeContext) -> Check:
    """Informational: syncer sends ``pageSize`` with every list read, so whatever the firm's
    default is, nothing depends on it; a value other than the documented one is reported, not
    held against the firm (the verdict is ``holds``, the observation says so)."""
    expected = f"{DOCUMENTED_DEFAULT_PAGE_SIZE} (informational: syncer always sends pageSize)"
    largest = ctx.largest_sample()
    if largest is None:
        return unknown("paging.default_page_size", expected, "no objects to page through")
    kind, sample = largest
    answered = len(objects_of(await ctx.page(kind, 0, None)) or [])
    known = len(sample.objects)
    if answered < known:
        observed = str(answered)
    elif known > DOCUMENTED_DEFAULT_PAGE_SIZE:
        observed = f"at least {answered}"
    else:
        return unknown("paging.default_page_size", expected, f"only {known} {kind} to page")
    if answered != DOCUMENTED_DEFAULT_PAGE_SIZE:
        observed += (
            f", not the documented {DOCUMENTED_DEFAULT_PAGE_SIZE}: harmless, syncer always "
            "sends pageSize"
        )
    return holds("paging.default_page_size", expected, observed)


async def check_stable_order(ctx: ProbeContext) -> Check:
    configured = ctx.api.stable_order
    expected = "stable across pages, by Id" if configured else "no stable order across pages"
    largest = ctx.largest_sample()
    if largest is None or len(largest[1].objects) < STABLE_PAGES + 1:
        return unknown("paging.stable_order", expected, "fewer than four objects of any kind")
    kind, sample = largest
    paged: list[str] = []
    for offset in range(STABLE_PAGES):
        paged += guids_of(await ctx.page(kind, offset, 2)) or []
    whole = [str(field_of(o, "CWGuid")) for o in sample.objects[: 2 * STABLE_PAGES]]
    ids = [field_of(o, "Id") for o in sample.objects]
    by_id = all(isinstance(i, int) for i in ids) and ids == sorted(ids)
    stable = paged == whole
    if stable:
        observed = f"stable, {'by Id' if by_id else 'not by Id'}"
    else:
        observed = f"{kind} in pages of 2 differ from one page of {len(whole)}"
    if stable != configured:
        return differs("paging.stable_order", expected, observed, api__stable_order=stable)
    return holds("paging.stable_order", expected, observed)
