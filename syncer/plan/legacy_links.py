"""The ends of an assignment in a plan file that names it only by its display key.

A file written before ``link`` existed (and any file, for the many assignments whose ends hold no
``|``) names an assignment by ``"<parent>|<member>"``. A key with one ``|`` cuts in one way. A
key with several (a group named ``R|D``, in a file older than ``link``) is cut where both ends
make sense, as apply used to: an end is known when the plan gave its CWGuid or creates an object
of that key; failing that, at the first ``|``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from syncer.model import RELATION_KINDS, LinkKey, normalise_key
from syncer.plan.changes import MEMBER_ID, Action

Entry = Mapping[str, Any]
"""One change as the plan file writes it."""


@dataclass(frozen=True)
class LegacyLinks:
    """Cuts the display keys of one plan file's assignments; ``entries`` is every change of the
    file (its creates tell which keys will exist)."""

    entries: tuple[Entry, ...]

    @classmethod
    def of(cls, entries: Iterable[object]) -> LegacyLinks:
        """From a file's entries as read (one that is no object is reported where it is read)."""
        return cls(tuple(entry for entry in entries if isinstance(entry, Mapping)))

    def cut(self, entry: Entry) -> LinkKey:
        """The ends of the assignment ``entry`` names by its display key."""
        key = str(entry["key"])
        parent, bar, member = key.partition("|")
        if not bar:
            raise ValueError(f"assignment key {key!r} has no '|'")
        return LinkKey(parent, member) if "|" not in member else self._cut_where_known(entry, key)

    def _cut_where_known(self, entry: Entry, key: str) -> LinkKey:
        relation = RELATION_KINDS[entry["kind"]]
        carry = entry.get("carry")
        member_id = carry.get(MEMBER_ID) if isinstance(carry, Mapping) else None
        cuts = [i for i, char in enumerate(key) if char == "|"]
        for cut in cuts:
            parent, member = key[:cut], key[cut + 1 :]
            if self._known(relation.parent_kind, parent, entry.get("remote_id")) and self._known(
                relation.member_kind, member, member_id
            ):
                return LinkKey(parent, member)
        return LinkKey(key[: cuts[0]], key[cuts[0] + 1 :])

    def _known(self, kind: str, key: str, guid: object) -> bool:
        return isinstance(guid, str) or normalise_key(kind, key) in self._created.get(kind, ())

    @cached_property
    def _created(self) -> Mapping[str, frozenset[str]]:
        """Normalised keys of the objects the file creates, per kind (read only when a key
        cuts in more than one way)."""
        created: dict[str, set[str]] = {}
        for entry in self.entries:
            if entry.get("action") == Action.CREATE.value:
                kind = str(entry["kind"])
                created.setdefault(kind, set()).add(normalise_key(kind, str(entry["key"])))
        return {kind: frozenset(keys) for kind, keys in created.items()}
