"""The two snapshots the planner compares: what should exist, and what Cloud holds.

Both are plain immutable values so the planner can stay pure: the store fills a
``DesiredState`` from SQL, the cloud reader fills a ``CloudState`` from the API, and neither
snapshot knows where it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class DesiredRow:
    """One desired object. ``values`` maps column name to value; ``None`` means "don't manage".

    ``key`` is the natural key as the user wrote it; compare keys through
    ``ObjectKind.normalise_key``. ``row`` is where the row came from (CSV line or row number), kept
    so that a problem can be reported against the record the user can find.
    """

    key: str
    values: Mapping[str, object]
    row: int | None = None


@dataclass(frozen=True, slots=True)
class DesiredLink:
    """One desired assignment: ``parent`` and ``member`` are natural keys of their kinds."""

    parent: str
    member: str
    row: int | None = None


@dataclass(frozen=True, slots=True)
class DesiredChild:
    """One desired child object (an entity's address): ``parent`` is the parent's natural key,
    ``category`` tells the parent's children apart; ``values`` as in ``DesiredRow``."""

    parent: str
    category: str
    values: Mapping[str, object]
    row: int | None = None


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A desired row that cannot be sent, with the reason naming the field at fault."""

    kind: str
    key: str
    reason: str
    row: int | None = None


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything desired state says, per kind.

    ``complete`` lists the kinds whose source was read in full; a kind missing from it (source
    unreadable, or not configured) never yields retirements or removals.
    """

    objects: Mapping[str, tuple[DesiredRow, ...]] = field(default_factory=dict)
    links: Mapping[str, tuple[DesiredLink, ...]] = field(default_factory=dict)
    invalid: tuple[InvalidRow, ...] = ()
    complete: frozenset[str] = frozenset()
    children: Mapping[str, tuple[DesiredChild, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """An object as the API returned it: identity plus the raw PascalCase fields."""

    cwguid: str
    id: int | None
    fields: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class CloudState:
    """Everything read from Cloud. ``links`` holds (parent CWGuid, member CWGuid) pairs.

    ``roles`` are the firm's roles (read-only), used to turn role names into CWGuids and the
    numeric ``FirmWideRoleIds`` of users into names.
    """

    objects: Mapping[str, tuple[RemoteObject, ...]] = field(default_factory=dict)
    links: Mapping[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    roles: tuple[RemoteObject, ...] = ()
    children: Mapping[str, Mapping[str, tuple[RemoteObject, ...]]] = field(default_factory=dict)
    """Per child kind, the children of each parent whose children were read, by the parent's
    lowered CWGuid. A parent missing here was not read (syncer knows it to be in step)."""


class Origin(StrEnum):
    """How syncer came to own a Cloud object; only owned objects may be retired."""

    CREATED = "created"
    ADOPTED = "adopted"


@dataclass(frozen=True, slots=True)
class Ownership:
    """An id-map entry: the object syncer created or adopted for a natural key."""

    kind: str
    key: str
    cwguid: str
    id: int | None
    origin: Origin


_NONE_OWNED: Mapping[str, Ownership] = MappingProxyType({})


class IdMap(Mapping[tuple[str, str], Ownership]):
    """The id map: (kind, normalised natural key) -> the object syncer owns, held per kind.

    The planner works one kind at a time, so entries are filed by kind as they are read (the
    store streams them in once anyway) and ``of_kind`` hands one kind over without a pass over
    every other entry: at a million entries that pass cost the planner 0.3 s.
    """

    __slots__ = ("_by_kind",)

    def __init__(self, entries: Iterable[tuple[tuple[str, str], Ownership]] = ()) -> None:
        by_kind: defaultdict[str, dict[str, Ownership]] = defaultdict(dict)
        for (kind, key), own in entries:
            by_kind[kind][key] = own
        self._by_kind = dict(by_kind)

    @classmethod
    def of(cls, owned: Mapping[tuple[str, str], Ownership]) -> IdMap:
        """``owned`` itself when it already is one, else its entries filed by kind."""
        return owned if isinstance(owned, IdMap) else cls(owned.items())

    def of_kind(self, kind: str) -> Mapping[str, Ownership]:
        """One kind's entries by normalised key."""
        return self._by_kind.get(kind, _NONE_OWNED)

    def __getitem__(self, item: tuple[str, str]) -> Ownership:
        kind, key = item
        return self._by_kind[kind][key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for kind, entries in self._by_kind.items():
            for key in entries:
                yield kind, key

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._by_kind.values())
