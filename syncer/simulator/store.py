"""The firm's objects in memory: create, read, update, delete, list, with uniqueness and paging.

Every mutation is synchronous (no ``await`` between the uniqueness check and the insert), so on
one event loop concurrent creates of the same natural key are serialised for free: exactly one
wins and the others see 409. Objects are plain dicts in response shape, kept per kind by ``Id``;
insertion order is ``Id`` order, which keeps paging stable, and a natural-key index makes
uniqueness checks O(1) for benchmark-sized firms.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import deepcopy
from itertools import islice
from typing import Any

from syncer.simulator.errors import ApiError, invalid, not_found
from syncer.simulator.resources import (
    ADDRESSES,
    BUILT_IN_ROLES,
    GROUPS,
    ROLES,
    SPECS,
    USERS,
    ResourceSpec,
    Violation,
)
from syncer.simulator.search import Condition

TIES = 7
"""Objects sharing a sort key in a list without a stable order (prime: runs straddle pages)."""

Obj = dict[str, Any]


class ResourceStore:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._objects: dict[str, dict[int, Obj]] = {name: {} for name in SPECS}
        self._by_guid: dict[str, dict[str, int]] = {name: {} for name in SPECS}
        self._by_key: dict[str, dict[str, int]] = {name: {} for name in SPECS}
        self._members: dict[int, set[int]] = {}
        self._listing: dict[str, list[Obj]] = {}
        """Each kind's objects in ``Id`` order, built on the first list after a change: a page is
        then a slice, where walking the objects up to it made a list of n objects cost n² / page
        size to read (a 100k-entity list, ~50 million steps)."""
        self._next_id = 1
        for name, description in BUILT_IN_ROLES:
            self.create(ROLES, {"Name": name, "Description": description})

    # -- objects ---------------------------------------------------------------------------

    def create(
        self, spec: ResourceSpec, values: Mapping[str, Any], owner: Obj | None = None
    ) -> Obj:
        obj: Obj = {"Id": self._next_id, "CWGuid": self._new_guid(), **spec.defaults(), **values}
        if owner is not None:
            obj |= {"OwnerCWGuid": owner["CWGuid"], "OwnerId": owner["Id"]}
        if spec is USERS and not obj.get("UserName"):
            obj["UserName"] = str(obj["Email"])[:50]
        self._check_unique(spec, obj, None)
        self._next_id += 1
        self._index(spec, obj)
        return deepcopy(obj)

    def get(self, spec: ResourceSpec, guid: str) -> Obj:
        return deepcopy(self._stored(spec, guid))

    def update(self, spec: ResourceSpec, guid: str, values: Mapping[str, Any]) -> Obj:
        stored = self._stored(spec, guid)
        updated = {**stored, **values}
        self._check_unique(spec, updated, stored["Id"])
        self._unindex_key(spec, stored)
        stored.update(values)
        self._index(spec, stored)
        return deepcopy(stored)

    def delete(self, spec: ResourceSpec, guid: str) -> None:
        stored = self._stored(spec, guid)
        self._unindex_key(spec, stored)
        del self._objects[spec.name][stored["Id"]]
        self._listing.pop(spec.name, None)
        del self._by_guid[spec.name][stored["CWGuid"].lower()]
        self._members.pop(stored["Id"], None)
        for members in self._members.values():
            members.discard(stored["Id"])

    def page(
        self,
        spec: ResourceSpec,
        page: int,
        page_size: int,
        condition: Condition | None = None,
        where: Callable[[Obj], bool] | None = None,
        *,
        order: random.Random | None = None,
    ) -> Sequence[Mapping[str, Any]]:
        """One page of ``spec``'s objects in ``Id`` order; past the end is an empty list.

        The stored objects themselves, read-only, for the caller to present at once: copying
        every object of every page (``deepcopy``) was most of the simulator's CPU for a list,
        ~10 ms a page of 100, which ``bench/read`` then measured in place of syncer.

        With ``order`` (a firm whose lists keep no order across pages), each run of ``TIES``
        objects comes in an order of its own, as when a list is sorted by a key with ties and
        the database breaks them differently from one query to the next."""
        start = (page - 1) * page_size
        listed = self._listed(spec.name)
        if condition is None and where is None and order is None:
            return listed[start : start + page_size]
        rows: Iterable[Obj] = (
            o
            for o in listed
            if (condition is None or condition.matches(o)) and (where is None or where(o))
        )
        if order is not None:
            found = list(rows)
            runs = [found[i : i + TIES] for i in range(0, len(found), TIES)]
            rows = [o for run in runs for o in order.sample(run, len(run))]
        return list(islice(rows, start, start + page_size))

    def _listed(self, kind: str) -> list[Obj]:
        listed = self._listing.get(kind)
        if listed is None:
            listed = self._listing[kind] = list(self._objects[kind].values())
        return listed

    def guid_of(self, spec: ResourceSpec, object_id: int) -> str:
        """The CWGuid of ``spec``'s object ``object_id`` (``""`` when there is none)."""
        found = self._objects[spec.name].get(object_id)
        return str(found["CWGuid"]) if found is not None else ""

    def all(self, spec: ResourceSpec) -> list[Obj]:
        return [deepcopy(o) for o in self._objects[spec.name].values()]

    # -- relations -------------------------------------------------------------------------

    def assign_roles(self, user_guid: str, role_guids: Iterable[str], remove: bool) -> Obj:
        user = self._stored(USERS, user_guid)
        role_ids = self._ids_of(ROLES, role_guids, "roleIds")
        current = list(user["FirmWideRoleIds"])
        if remove:
            current = [r for r in current if r not in role_ids]
        else:
            current += [r for r in role_ids if r not in current]
        user["FirmWideRoleIds"] = sorted(current)
        return deepcopy(user)

    def assign_members(self, group_guid: str, user_guids: Iterable[str], remove: bool) -> Obj:
        group = self._stored(GROUPS, group_guid)
        user_ids = self._ids_of(USERS, user_guids, "people")
        members = self._members.setdefault(group["Id"], set())
        if remove:
            members.difference_update(user_ids)
        else:
            members.update(user_ids)
        return deepcopy(group)

    def member_guids(self, group_guid: str, page: int, page_size: int) -> list[str]:
        group = self._stored(GROUPS, group_guid)
        users = self._objects[USERS.name]
        ordered = sorted(self._members.get(group["Id"], ()))
        start = (page - 1) * page_size
        return [users[i]["CWGuid"] for i in ordered[start : start + page_size]]

    def addresses_of(
        self, entity: Mapping[str, Any], page: int, page_size: int
    ) -> Sequence[Mapping[str, Any]]:
        return self.page(ADDRESSES, page, page_size, where=lambda a: a["OwnerId"] == entity["Id"])

    def dump(self) -> dict[str, Any]:
        return {
            **{name: self.all(spec) for name, spec in SPECS.items()},
            "group_members": {
                self._objects[GROUPS.name][g]["CWGuid"]: [
                    self._objects[USERS.name][u]["CWGuid"] for u in sorted(members)
                ]
                for g, members in sorted(self._members.items())
            },
        }

    # -- internals -------------------------------------------------------------------------

    def _new_guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _stored(self, spec: ResourceSpec, guid: str) -> Obj:
        object_id = self._by_guid[spec.name].get(guid.lower())
        if object_id is None:
            raise not_found(spec.name, guid)
        return self._objects[spec.name][object_id]

    def _ids_of(self, spec: ResourceSpec, guids: Iterable[str], body_field: str) -> list[int]:
        ids, unknown = [], []
        for guid in guids:
            object_id = self._by_guid[spec.name].get(str(guid).lower())
            if object_id is None:
                unknown.append(str(guid))
            else:
                ids.append(object_id)
        if unknown:
            raise invalid([Violation(body_field, f"unknown {spec.name}: {', '.join(unknown)}")])
        return ids

    def _check_unique(self, spec: ResourceSpec, obj: Obj, own_id: int | None) -> None:
        key = spec.natural_key(obj)
        holder = self._by_key[spec.name].get(key) if key is not None else None
        if holder is not None and holder != own_id:
            raise ApiError(
                409,
                f"{spec.key_field} {key!r} is already used in {spec.name}.",
                [Violation(spec.key_field or "", "must be unique")],
            )

    def _index(self, spec: ResourceSpec, obj: Obj) -> None:
        self._objects[spec.name][obj["Id"]] = obj
        self._listing.pop(spec.name, None)
        self._by_guid[spec.name][obj["CWGuid"].lower()] = obj["Id"]
        key = spec.natural_key(obj)
        if key is not None:
            self._by_key[spec.name][key] = obj["Id"]

    def _unindex_key(self, spec: ResourceSpec, obj: Obj) -> None:
        key = spec.natural_key(obj)
        if key is not None:
            self._by_key[spec.name].pop(key, None)
