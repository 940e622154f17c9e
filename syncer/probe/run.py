"""``run_probe``: every check, in the order that lets later ones reuse earlier reads."""

from __future__ import annotations

from dataclasses import replace

from syncer.clock import Clock
from syncer.probe.auth import check_auth_limited, check_token
from syncer.probe.context import ProbeContext
from syncer.probe.fields import check_fields
from syncer.probe.paging import (
    check_default_page_size,
    check_first_page,
    check_max_page_size,
    check_stable_order,
    read_samples,
)
from syncer.probe.ratelimit import check_headers, check_keying, observed_names
from syncer.probe.report import Check, ProbeReport
from syncer.probe.resources import check_members, check_not_found
from syncer.probe.search import check_quote_escape
from syncer.probe.wire import open_wire
from syncer.settings import CloudSettings

FIELD_KINDS = ("entities", "users", "groups", "roles")


async def run_probe(cloud: CloudSettings, *, clock: Clock | None = None) -> ProbeReport:
    """Check the firm of ``cloud`` against every ``[cloud.api]`` assumption, reading only."""
    async with open_wire(cloud, clock) as wire:
        token, issued = await wire.session()
        ctx = ProbeContext(wire, cloud, token, first_page=cloud.api.first_page)
        first_get = await wire.get("roles", token, page=ctx.first_page, pageSize=1)
        # Every later check reads the rate-limit headers under the names the firm uses.
        wire.header_names = observed_names(first_get, cloud.api.ratelimit_headers)
        issued = replace(issued, names=wire.header_names)
        checks: list[Check] = [
            check_token(issued, token, cloud),
            check_headers(first_get, cloud.api.ratelimit_headers),
        ]
        second_token, _ = await wire.session()
        checks.append(await check_keying(ctx, second_token))
        checks.append(check_auth_limited(issued, cloud))
        checks.append(await check_first_page(ctx))
        await read_samples(ctx)
        checks.append(await check_max_page_size(ctx))
        checks.append(await check_default_page_size(ctx))
        checks.append(await check_stable_order(ctx))
        checks.append(await check_quote_escape(ctx))
        checks.extend(check_fields(ctx, kind) for kind in FIELD_KINDS)
        checks.append(await check_members(ctx))
        checks.append(await check_not_found(ctx))
        return ProbeReport(tuple(checks), wire.requests)
