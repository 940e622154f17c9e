"""The two snapshots the planner compares: what should exist, and what Cloud holds.

Both are plain immutable values so the planner can stay pure: the store fills a
``DesiredState`` from SQL, the cloud reader fills a ``CloudState`` from the API, and neither
snapshot knows where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


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
