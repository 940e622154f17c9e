"""A stable hash of the Cloud state a plan was computed from.

apply re-reads Cloud before it carries out a saved plan and refuses when the fingerprint differs:
the plan's "before" values, and its decisions, would no longer be true. The hash ignores the
order Cloud listed things in and the letter case of CWGuids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

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
    """One canonical document for a kind: objects sorted by CWGuid, field names sorted."""
    rows = sorted(((guid_key(o.cwguid), o.id, o.fields) for o in objects), key=_by_guid)
    return [orjson.dumps(rows, option=_OPTIONS, default=_plain)]


def _by_guid(row: tuple[str, int | None, Mapping[str, object]]) -> str:
    return row[0]


def _plain(value: object) -> object:
    """Mappings other than dict become dicts; anything else orjson cannot encode, text."""
    return dict(value) if isinstance(value, Mapping) else str(value)


def _section(update: Callable[[bytes], None], title: str, lines: Iterable[bytes]) -> None:
    update(f"\x00{title}\x00".encode())
    for line in lines:
        update(line)
        update(b"\n")
