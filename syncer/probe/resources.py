"""``members.read`` and ``errors.not_found``: the two reads whose shape is assumed, not seen."""

from __future__ import annotations

import uuid

from syncer.cloud.shapes import field_of
from syncer.model import ENTITIES, GROUP_MEMBERS
from syncer.probe.context import ProbeContext
from syncer.probe.report import Check, differs, differs_without_setting, holds, unknown


async def check_members(ctx: ProbeContext) -> Check:
    readable = ctx.api.members_readable
    expected = "200, a list of user CWGuids" if readable else "not readable"
    groups = ctx.samples.get("groups")
    if groups is None or not groups.objects or GROUP_MEMBERS.read_path is None:
        return unknown("members.read", expected, "the firm has no group to read members of")
    guid = str(field_of(groups.objects[0], "CWGuid"))
    path = GROUP_MEMBERS.read_path.format(id=guid)
    answer = await ctx.wire.get(path, ctx.token, page=ctx.first_page, pageSize=ctx.page_size)
    body = answer.json()
    works = answer.status == 200 and isinstance(body, list)
    if works and isinstance(body, list) and all(isinstance(m, str) for m in body):
        observed = f"200, a list of {len(body)} CWGuids"
    else:
        observed = f"{answer.status}, {answer.shape()}"
        works = False
    if works != readable:
        return differs("members.read", expected, observed, api__members_readable=works)
    return holds("members.read", expected, observed)


async def check_not_found(ctx: ProbeContext) -> Check:
    expected = "404 with a message"
    answer = await ctx.wire.get(f"{ENTITIES.api_path}/{uuid.uuid4()}", ctx.token)
    observed = f"{answer.status}, {answer.shape()}"
    if answer.status == 404:
        return holds("errors.not_found", expected, f"{observed}: {answer.message()!r}")
    advice = "syncer reads an unknown CWGuid as a failed row; report this answer to the maintainers"
    return differs_without_setting("errors.not_found", expected, observed, advice)
