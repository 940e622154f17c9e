"""A pure, in-memory "Cloud" for planner tests: apply a Plan to a CloudState and the id map.

It does what the executor and the API would do with each change, in plan order, so a property
test can check that planning again after applying finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from syncer.model import OBJECT_KINDS, RELATION_KINDS, LinkKey
from syncer.plan.changes import Action, Change, Plan
from syncer.state import CloudState, Origin, Ownership, RemoteObject

Owned = dict[tuple[str, str], Ownership]


@dataclass(slots=True)
class MemoryCloud:
    objects: dict[str, dict[str, RemoteObject]]
    links: dict[str, set[tuple[str, str]]]
    roles: tuple[RemoteObject, ...]
    owned: Owned = field(default_factory=dict)
    created: int = 0

    @classmethod
    def of(cls, cloud: CloudState, owned: Mapping[tuple[str, str], Ownership]) -> MemoryCloud:
        return cls(
            objects={
                kind: {o.cwguid.lower(): o for o in objs} for kind, objs in cloud.objects.items()
            },
            links={
                kind: {(p.lower(), m.lower()) for p, m in pairs}
                for kind, pairs in cloud.links.items()
            },
            roles=cloud.roles,
            owned=dict(owned),
        )

    def state(self) -> CloudState:
        return CloudState(
            objects={kind: tuple(objs.values()) for kind, objs in self.objects.items()},
            links={kind: frozenset(pairs) for kind, pairs in self.links.items()},
            roles=self.roles,
        )

    def apply(self, changes: tuple[Change, ...]) -> None:
        for change in changes:
            APPLY[change.action](self, change)

    def _find(self, kind: str, display: str) -> str:
        """The CWGuid of the object of ``kind`` whose natural key is ``display``."""
        if kind == "roles":
            return next(r.cwguid.lower() for r in self.roles if r.fields["Name"] == display)
        spec = OBJECT_KINDS[kind]
        wanted = spec.normalise_key(display)
        for guid, obj in self.objects.get(kind, {}).items():
            if spec.normalise_key(str(obj.fields.get(spec.key_field, ""))) == wanted:
                return guid
        raise KeyError(f"{kind} {display!r} not in memory cloud")

    def create(self, change: Change) -> None:
        kind = OBJECT_KINDS[change.kind]
        self.created += 1
        guid = f"created-{change.kind}-{self.created}"
        fields = {name: fc.after for name, fc in change.fields.items()}
        self.objects.setdefault(change.kind, {})[guid] = RemoteObject(guid, None, fields)
        key = kind.normalise_key(change.object_key)
        self.owned[(change.kind, key)] = Ownership(change.kind, key, guid, None, Origin.CREATED)

    def update(self, change: Change) -> None:
        assert change.remote_id is not None
        objs = self.objects[change.kind]
        guid = change.remote_id.lower()
        merged = {**objs[guid].fields, **{n: fc.after for n, fc in change.fields.items()}}
        objs[guid] = replace(objs[guid], fields=merged)

    def delete(self, change: Change) -> None:
        assert change.remote_id is not None
        guid = change.remote_id.lower()
        del self.objects[change.kind][guid]
        self.owned = {k: o for k, o in self.owned.items() if o.cwguid.lower() != guid}
        for kind, pairs in self.links.items():
            self.links[kind] = {(p, m) for p, m in pairs if guid not in (p, m)}

    def _pair(self, change: Change) -> tuple[str, str]:
        relation = RELATION_KINDS[change.kind]
        assert isinstance(change.key, LinkKey), change
        parent_key, member_key = change.key
        parent = change.remote_id or self._find(relation.parent_kind, parent_key)
        member = change.carry.get("member_id") or self._find(relation.member_kind, member_key)
        return (parent.lower(), str(member).lower())

    def add(self, change: Change) -> None:
        self.links.setdefault(change.kind, set()).add(self._pair(change))

    def remove(self, change: Change) -> None:
        self.links[change.kind].discard(self._pair(change))


APPLY = {
    Action.CREATE: MemoryCloud.create,
    Action.UPDATE: MemoryCloud.update,
    Action.DEACTIVATE: MemoryCloud.update,
    Action.DELETE: MemoryCloud.delete,
    Action.ADD: MemoryCloud.add,
    Action.REMOVE: MemoryCloud.remove,
}


def apply_plan(
    plan: Plan,
    cloud: CloudState,
    owned: Mapping[tuple[str, str], Ownership],
    *,
    allow_deletes: bool = False,
) -> tuple[CloudState, Owned]:
    """The Cloud state and id map after carrying ``plan`` out (blocked too with allow_deletes)."""
    memory = MemoryCloud.of(cloud, owned)
    memory.apply(plan.changes)
    if allow_deletes:
        memory.apply(tuple(b.change for b in plan.blocked))
    return memory.state(), memory.owned
