"""A stable hash of the Cloud state a plan was computed from.

apply re-reads Cloud before it carries out a saved plan and refuses when the fingerprint differs:
the plan's "before" values, and its decisions, would no longer be true. The hash ignores the
order Cloud listed things in and the letter case of CWGuids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import orjson

from syncer.plan.index import guid_key
from syncer.state import CloudState, RemoteObject

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def fingerprint(cloud: CloudState) -> str:
    """sha256 hex of a canonical encoding of ``cloud``."""
    digest = hashlib.sha256()
    for kind in sorted(cloud.objects):
        _section(digest.update, f"objects:{kind}", _objects(cloud.objects[kind]))
    for kind in sorted(cloud.links):
        pairs = sorted((guid_key(p), guid_key(m)) for p, m in cloud.links[kind])
        _section(digest.update, f"links:{kind}", (f"{p} {m}".encode() for p, m in pairs))
    _section(digest.update, "roles", _objects(cloud.roles))
    return digest.hexdigest()


def _objects(objects: Iterable[RemoteObject]) -> list[bytes]:
    return sorted(
        orjson.dumps([guid_key(o.cwguid), o.id, dict(o.fields)], option=_OPTIONS, default=str)
        for o in objects
    )


def _section(update: Callable[[bytes], None], title: str, lines: Iterable[bytes]) -> None:
    update(f"\x00{title}\x00".encode())
    for line in lines:
        update(line)
        update(b"\n")
