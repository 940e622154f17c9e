"""A stable hash of the Cloud state a plan was computed from.

apply re-reads Cloud before it carries out a saved plan and refuses when the fingerprint differs:
the plan's "before" values, and its decisions, would no longer be true. The hash ignores the
order Cloud listed things in and the letter case of CWGuids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

import orjson

from syncer.plan.index import guid_key
from syncer.state import CloudState, RemoteObject

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def fingerprint(cloud: CloudState, lowered: Mapping[str, Sequence[str]] | None = None) -> str:
    """sha256 hex of a canonical encoding of ``cloud``.

    ``lowered`` may give, for kinds of ``cloud.objects``, their objects' lowered CWGuids in
    listing order (``CloudIndex.guids``: the planner has them already); other kinds' CWGuids are
    lowered here. The value is the same either way.
    """
    digest = hashlib.sha256()
    update = digest.update
    known = lowered or {}
    for kind in sorted(cloud.objects):
        _title(update, f"objects:{kind}")
        _objects(update, cloud.objects[kind], known.get(kind))
    for kind in sorted(cloud.links):
        _title(update, f"links:{kind}")
        for parent, member in sorted((guid_key(p), guid_key(m)) for p, m in cloud.links[kind]):
            update(f"{parent} {member}\n".encode())
    _title(update, "roles")
    _objects(update, cloud.roles)
    for kind in sorted(cloud.children):
        for parent, children in sorted(cloud.children[kind].items()):
            _title(update, f"children:{kind}:{guid_key(parent)}")
            _objects(update, children)
    return digest.hexdigest()


def _title(update: Callable[[bytes | memoryview], None], title: str) -> None:
    update(f"\x00{title}\x00".encode())


CHUNK = 4096
"""Objects encoded per ``orjson.dumps`` call: the document of a big kind is hashed piece by
piece instead of being held whole (a hundred megabytes at a million objects)."""


def _objects(
    update: Callable[[bytes | memoryview], None],
    objects: Sequence[RemoteObject],
    guids: Sequence[str] | None = None,
) -> None:
    """One canonical document for a kind, and a newline: a JSON array of ``[guid, id, fields]``
    sorted by lowered CWGuid (``guids``, when given, holds them in the order of ``objects``),
    field names sorted. Each chunk is encoded as an array whose brackets are dropped, so the
    bytes hashed are those of the whole array encoded at once."""
    if guids is None:
        guids = [guid_key(o.cwguid) for o in objects]
    rows = [(guid, o.id, o.fields) for guid, o in zip(guids, objects, strict=True)]
    rows.sort(key=itemgetter(0))
    update(b"[")
    for start in range(0, len(rows), CHUNK):
        if start:
            update(b",")
        chunk = orjson.dumps(rows[start : start + CHUNK], option=_OPTIONS, default=_plain)
        update(memoryview(chunk)[1:-1])
    update(b"]\n")


def _plain(value: object) -> object:
    """Mappings other than dict become dicts; anything else orjson cannot encode, text."""
    return dict(value) if isinstance(value, Mapping) else str(value)
