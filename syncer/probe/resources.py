"""``members.read`` and ``errors.not_found``: the two reads whose shape is assumed, not seen."""

from __future__ import annotations

import uuid
from difflib import SequenceMatcher

from syncer.cloud.shapes import field_of
from syncer.model import ENTITIES, GROUP_MEMBERS, USERS
from syncer.probe.context import ProbeContext
from syncer.probe.report import Check, differs, differs_without_setting, holds, unknown

GAPS = ("\x00", "\x01")
"""What stands for the GUID in each of the two messages: distinct, so no shared text spans it."""


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
    """An unknown CWGuid of two kinds: the status, and the part of the message both answers
    share once the GUIDs are taken out (what tells "no such object" from other refusals)."""
    configured = ctx.api.not_found
    expected = f"{configured.status} with a message" + (
        f" containing {configured.message!r}" if configured.message else ""
    )
    answers: list[tuple[int, str]] = []
    shapes: list[str] = []
    for gap, path in zip(GAPS, (ENTITIES.api_path, USERS.api_path), strict=True):
        guid = str(uuid.uuid4())
        answer = await ctx.wire.get(f"{path}/{guid}", ctx.token)
        answers.append((answer.status, answer.message().replace(guid, gap)))
        shapes.append(answer.shape())
    status, message = answers[0]
    observed = f"{status}, {shapes[0]}: {message.replace(GAPS[0], '<guid>').strip()!r}"
    if all(configured.matches(*found) for found in answers):
        return holds("errors.not_found", expected, observed)
    marker = _shared_text(answers[0][1], answers[1][1])
    if status == answers[1][0] and 400 <= status < 500 and (status == 404 or marker):
        advised = {"status": status, "message": "" if status == 404 else marker}
        return differs("errors.not_found", expected, observed, api__not_found=advised)
    advice = (
        "syncer cannot tell a missing object from another refusal: a delete of an object "
        "already gone fails its row; report this answer to the maintainers"
    )
    return differs_without_setting("errors.not_found", expected, observed, advice)


def _shared_text(first: str, second: str) -> str:
    """The longest run of whole words both messages hold (never across a GUID's place)."""
    match = SequenceMatcher(None, first, second, autojunk=False).find_longest_match()
    start, end = match.a, match.a + match.size
    words = first[start:end]
    if start > 0 and first[start - 1].isalnum() and words[:1].isalnum():
        words = words.partition(" ")[2]  # began inside a word ("entitie|s has")
    if end < len(first) and first[end].isalnum() and words[-1:].isalnum():
        words = words.rpartition(" ")[0]
    return words.strip()
