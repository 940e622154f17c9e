"""Lookups into the Cloud state and into what the plan will make exist.

The planner matches desired keys to Cloud objects (by CWGuid through the id map, else by natural
key) and resolves assignment ends to CWGuids. Both need the same two dictionaries per kind,
built once here so that planning stays linear in the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from syncer.state import RemoteObject

guid_key: Final[Callable[[str], str]] = str.lower
"""CWGuids compare case-insensitively (docs/cloud-api.md §3). An alias rather than a function:
it runs several times per Cloud object, and the C method avoids a Python call."""


def _preferred(a: RemoteObject, b: RemoteObject) -> RemoteObject:
    """Of two Cloud objects sharing a natural key, the one with the lower Id, then CWGuid, so
    that the choice does not depend on the order Cloud listed them in."""
    rank_a = (a.id is None, a.id or 0, guid_key(a.cwguid))
    rank_b = (b.id is None, b.id or 0, guid_key(b.cwguid))
    return a if rank_a <= rank_b else b


@dataclass(frozen=True, slots=True)
class CloudIndex:
    """One kind's Cloud objects by CWGuid and by normalised natural key."""

    key_field: str
    by_guid: Mapping[str, RemoteObject]
    by_key: Mapping[str, RemoteObject]
    guids_unique: bool
    """No two objects share a CWGuid (in any letter case): ``by_guid`` holds every object, so an
    object found by key is the one ``by_guid`` holds under its CWGuid."""
    guids: Sequence[str] = ()
    """The objects' lowered CWGuids in listing order: the fingerprint hashes them too, so each
    CWGuid is lowered once per plan (a million new strings fewer at a million objects)."""

    @classmethod
    def build(
        cls, objects: Sequence[RemoteObject], key_field: str, case_insensitive: bool
    ) -> CloudIndex:
        """Index ``objects``; natural keys are trimmed, and case-folded with ``case_insensitive``
        (``ObjectKind.normalise_key``, written out: comprehensions of C methods build a
        million-object index several times faster than a loop of Python calls)."""
        guids = [guid_key(obj.cwguid) for obj in objects]
        by_guid = dict(zip(guids, objects, strict=True))
        raws = [obj.fields.get(key_field) for obj in objects]
        keys = [raw.strip() for raw in raws if isinstance(raw, str)]
        if case_insensitive:
            keys = [key.casefold() for key in keys]
        by_key = dict(zip(keys, objects, strict=False))
        if len(by_key) < len(objects):
            # Some object has no key, or shares one: pair them up again one by one.
            by_key = {}
            for obj, raw in zip(objects, raws, strict=True):
                if isinstance(raw, str):
                    key = raw.strip().casefold() if case_insensitive else raw.strip()
                    known = by_key.get(key)
                    by_key[key] = obj if known is None else _preferred(known, obj)
        return cls(key_field, by_guid, by_key, len(by_guid) == len(objects), guids)

    def display(self, obj: RemoteObject) -> str:
        """The natural key as Cloud spells it (the CWGuid when Cloud has none)."""
        raw = obj.fields.get(self.key_field)
        return raw.strip() if isinstance(raw, str) else obj.cwguid


class Target(NamedTuple):
    """Where one desired key lands: an existing Cloud object, or one the plan creates.

    ``held`` says why an object that does not exist yet will not be created by this plan
    either (mode, protection); assignments to it cannot be made. A named tuple: one is made per
    desired user or group, and a tuple is made faster than a frozen dataclass.
    """

    display: str
    cwguid: str | None
    held: str | None = None


@dataclass(frozen=True, slots=True)
class Resolver:
    """Turns an assignment end (a natural key) into a ``Target``: desired first, then Cloud."""

    kind: str
    normalise: Callable[[str], str]
    cloud: CloudIndex
    targets: Mapping[str, Target] = field(default_factory=dict)

    def resolve(self, raw: str) -> Target | None:
        key = self.normalise(raw)
        target = self.targets.get(key)
        if target is not None:
            return target
        obj = self.cloud.by_key.get(key)
        return None if obj is None else Target(self.cloud.display(obj), obj.cwguid)

    def display_of(self, cwguid: str) -> str:
        obj = self.cloud.by_guid.get(guid_key(cwguid))
        return cwguid if obj is None else self.cloud.display(obj)
