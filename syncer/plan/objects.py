"""Planning one object kind (groups, entities, users): create, update, retire.

Each desired row is matched to a Cloud object through the id map (syncer's own record of the
CWGuid) and, failing that, by natural key; only managed fields the row sets are compared, in API
terms and after normalisation. Retirement looks only at objects syncer owns, and only when the
kind's source was read completely and listed something: an empty source is far more often a
broken export than a wish to retire everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from types import MappingProxyType

from syncer.model import ObjectKind, Retirement
from syncer.plan.changes import Action, Change, FieldChange, Skipped
from syncer.plan.index import CloudIndex, Target, guid_key
from syncer.plan.keyed import by_key, report_duplicates
from syncer.plan.outcome import KindOutcome
from syncer.plan.policy import PlanPolicy
from syncer.plan.values import compile_changes
from syncer.settings import SyncMode
from syncer.state import DesiredRow, InvalidRow, Origin, Ownership, RemoteObject
from syncer.value_rules import key_limit, key_problem, normalise

NOTHING: Mapping[str, object] = MappingProxyType({})
"""The Cloud side of an object that does not exist yet."""
PROTECTED = "protected by configuration (sync.protected)"
CREATES: frozenset[SyncMode] = frozenset({SyncMode.UPSERT, SyncMode.MIRROR, SyncMode.CREATE_ONLY})
UPDATES: frozenset[SyncMode] = frozenset({SyncMode.UPSERT, SyncMode.MIRROR, SyncMode.UPDATE_ONLY})


@dataclass(frozen=True, slots=True)
class KindContext:
    """Everything about one kind that stays the same for all of its rows."""

    kind: ObjectKind
    mode: SyncMode
    policy: PlanPolicy
    today: str
    """The date a deactivation is recorded under (``InActiveDate``), from the planner's ``now``."""

    def inactive_value(self) -> object:
        """How the API spells "inactive" for this kind (``"I"``); None without an active flag."""
        kind = self.kind
        spec = next((s for s in kind.fields if s.api_name == kind.active_field), None)
        return None if spec is None else spec.codec.encode(False)


def plan_objects(
    ctx: KindContext,
    rows: Sequence[DesiredRow],
    cloud: CloudIndex,
    owned: Mapping[str, Ownership],
    *,
    listed_invalid: frozenset[str],
    complete: bool,
    with_targets: bool = True,
) -> tuple[KindOutcome, dict[str, Target]]:
    """Plan one kind; with ``with_targets``, also return where each valid desired key lands
    (assignments need it; kinds no assignment refers to skip the bookkeeping)."""
    out = KindOutcome(ctx.kind.name, owned=len(owned))
    keyed = by_key(ctx.kind, rows)
    report_duplicates(ctx.kind, keyed.duplicates, out)
    listed = (keyed.listed, keyed.duplicates.keys(), listed_invalid)
    unlisted = _unlisted(ctx, cloud, owned, listed, complete=complete)
    unclaimed = {_claim(cloud, obj) for _, obj in unlisted}
    targets = _plan_rows(
        ctx,
        zip(keyed.keys, keyed.rows, strict=True),
        cloud,
        owned,
        unclaimed=unclaimed,
        out=out,
        with_targets=with_targets,
    )
    _plan_retirements(ctx, cloud, unlisted, unclaimed, out=out)
    return out, targets


def _plan_rows(
    ctx: KindContext,
    unique: Iterable[tuple[str, DesiredRow]],
    cloud: CloudIndex,
    owned: Mapping[str, Ownership],
    *,
    unclaimed: set[str],
    out: KindOutcome,
    with_targets: bool,
) -> dict[str, Target]:
    """Create, update or adopt for each desired row (``unique``: each key listed once, with its
    row), the kind's constants hoisted; objects a row matches leave ``unclaimed``."""
    kind = ctx.kind
    targets: dict[str, Target] = {}
    changes = compile_changes(kind)
    limit = key_limit(kind)
    # ``ObjectKind.normalise_key`` after the strip, as a C method (``str`` returns a str as is).
    key_field, fold = kind.key_field, (str.casefold if kind.key_case_insensitive else str)
    by_guid, by_key, same_guids = cloud.by_guid, cloud.by_key, cloud.guids_unique
    invalid = out.invalid.append
    noop = 0
    for key, row in unique:
        display = row.key.strip()
        # Blank and length here (the rest only for a key sent anew: ``_new_key_problem``);
        # only a bad key needs the reason built.
        problem = None if display and len(display) <= limit else key_problem(kind, row.key)
        if problem is not None:
            invalid(InvalidRow(kind.name, row.key, problem, row.row))
            continue
        # The id map wins (it survives renames in Cloud), the natural key is the fallback; the
        # same object found by both settles it without a lookup when each CWGuid is listed once.
        obj = by_key.get(key)
        own = owned.get(key)
        by_natural_key = own is None
        if own is not None and not (same_guids and obj is not None and obj.cwguid == own.cwguid):
            obj, by_natural_key = _by_id(by_guid, own, obj)
        fields = changes(row.values, NOTHING if obj is None else obj.fields)
        if obj is None:
            _create_row(ctx, key, row, fields, out, targets=targets if with_targets else None)
            continue
        if isinstance(fields, str):
            invalid(InvalidRow(kind.name, row.key, fields, row.row))
            continue
        if by_natural_key:
            # Not (or no longer correctly) in the id map: the object becomes syncer's.
            _adopt(ctx, key, obj, out)
        if unclaimed:
            unclaimed.discard(obj.cwguid if same_guids else guid_key(obj.cwguid))  # _claim
        if with_targets:
            targets[key] = Target(display, obj.cwguid)
        # Cloud spells it as another key (renamed there): rename back. Emails often differ in
        # case only: ``normalise_key`` written out, pinned by tests/plan/test_normalise_key.py.
        have = obj.fields.get(key_field)
        renamed = have != display and not (isinstance(have, str) and fold(have.strip()) == key)
        if fields or renamed:
            _plan_update(ctx, key, row, fields, obj, renamed=renamed, out=out)
        else:
            noop += 1  # nothing managed differs and the key is the same: no change
    out.noop += noop
    return targets


def _by_id(
    by_guid: Mapping[str, RemoteObject], own: Ownership, by_key: RemoteObject | None
) -> tuple[RemoteObject | None, bool]:
    """The object the id map names (it wins: it survives renames in Cloud), else the one the
    natural key found; and whether the match is by natural key."""
    by_id = by_guid.get(guid_key(own.cwguid))
    return (by_key, True) if by_id is None else (by_id, False)


def _create_row(
    ctx: KindContext,
    key: str,
    row: DesiredRow,
    fields: dict[str, FieldChange] | str,
    out: KindOutcome,
    *,
    targets: dict[str, Target] | None,
) -> None:
    """Plan the create of a row nothing in Cloud matches, or list it invalid: a value it
    cannot send (``fields`` is then the reason), a key Cloud would refuse, or a field a create
    needs and it lacks."""
    if isinstance(fields, str):
        out.invalid.append(InvalidRow(ctx.kind.name, row.key, fields, row.row))
        return
    problem = _new_key_problem(ctx.kind, row) or _missing_for_create(ctx.kind, row)
    if problem:
        out.invalid.append(InvalidRow(ctx.kind.name, row.key, problem, row.row))
        return
    target = _plan_create(ctx, key, row, fields, out)
    if targets is not None:
        targets[key] = target


def _adopt(ctx: KindContext, key: str, obj: RemoteObject, out: KindOutcome) -> None:
    """An object matched by key that the id map does not, or no longer correctly, list becomes
    syncer's (the caller checks the id map inline, as most rows are already recorded); a
    protected one never does, so it can never be retired."""
    if ctx.policy.is_protected(ctx.kind.name, key):
        return
    out.adoptions.append(Ownership(ctx.kind.name, key, obj.cwguid, obj.id, Origin.ADOPTED))


def _new_key_problem(kind: ObjectKind, row: DesiredRow) -> str | None:
    """The rest of the key rule for a key Cloud does not hold yet (a create, a rename): the hot
    loop judged blank and length only, as a key that matched one in Cloud is Cloud's own."""
    return key_problem(kind, row.key) if kind.key_is_email else None


def _missing_for_create(kind: ObjectKind, row: DesiredRow) -> str | None:
    """Why the row cannot create its object: a column the API requires on create is unset
    (an update leaves such a field as Cloud has it, so only creates need it)."""
    missing = [column for column in kind.required_on_create if row.values.get(column) is None]
    if not missing:
        return None
    return f"{', '.join(missing)} is required to create one of {kind.name} (the API refuses it)"


def _plan_create(
    ctx: KindContext, key: str, row: DesiredRow, managed: dict[str, FieldChange], out: KindOutcome
) -> Target:
    """A create sends the key, the kind's constant fields and every managed value the row sets.

    A row whose ``active`` is false is created inactive in one request (``Type: "I"`` and, for
    users, today's ``InActiveDate``) rather than created active and then deactivated.
    """
    kind = ctx.kind
    display = row.key.strip()
    fields: dict[str, FieldChange] = {kind.key_field: FieldChange(None, display)}
    for api_name, value in kind.constant_fields.items():
        fields[api_name] = FieldChange(None, value)
    fields.update(managed)
    _add_inactive_date(ctx, fields, None)
    change = Change(kind.name, Action.CREATE, display, None, fields)
    held = _held(ctx, key, ctx.mode in CREATES)
    if held is None:
        out.changes.append(change)
    else:
        out.skipped.append(Skipped(change, held))
    return Target(display, None, held)


def _held(ctx: KindContext, key: str, allowed: bool) -> str | None:
    if ctx.policy.is_protected(ctx.kind.name, key):
        return PROTECTED
    if not allowed:
        return f"{ctx.kind.name} mode is {ctx.mode}"
    return None


def _plan_update(
    ctx: KindContext,
    key: str,
    row: DesiredRow,
    managed: dict[str, FieldChange],
    obj: RemoteObject,
    *,
    renamed: bool,
    out: KindOutcome,
) -> None:
    """Update the managed fields that differ and, when Cloud spells the key as another key
    (an object matched through the id map may have been renamed in Cloud), the key too, if it
    passes the whole key rule; a change of the active flag brings the inactive date that goes
    with it."""
    kind = ctx.kind
    display = row.key.strip()
    fields = managed
    if renamed:
        problem = _new_key_problem(kind, row)
        if problem is not None:
            out.invalid.append(InvalidRow(kind.name, row.key, problem, row.row))
            return
        fields = {kind.key_field: FieldChange(obj.fields.get(kind.key_field), display), **fields}
    if kind.active_field in fields:
        _add_inactive_date(ctx, fields, obj.fields)
    change = Change(kind.name, Action.UPDATE, display, obj.cwguid, fields, _carry(ctx, fields, obj))
    held = _held(ctx, key, ctx.mode in UPDATES)
    if held is None:
        out.changes.append(change)
    else:
        out.skipped.append(Skipped(change, held))


def _add_inactive_date(
    ctx: KindContext, fields: dict[str, FieldChange], remote: Mapping[str, object] | None
) -> None:
    """A change of the active flag also sets (deactivate) or clears (reactivate) the kind's
    inactive date, as the API expects both in one request."""
    kind = ctx.kind
    if kind.inactive_date_field is None or kind.active_field not in fields:
        return
    becomes_inactive = fields[kind.active_field].after == ctx.inactive_value()
    before = None if remote is None else remote.get(kind.inactive_date_field)
    after = ctx.today if becomes_inactive else None
    if remote is None and after is None:
        return
    fields[kind.inactive_date_field] = FieldChange(before, after)


def _carry(
    ctx: KindContext, fields: Mapping[str, FieldChange], obj: RemoteObject
) -> dict[str, object]:
    """Fields every PATCH of this kind must carry: the new value when the change sets it, else
    Cloud's (the kind's constant when Cloud sent none)."""
    carry: dict[str, object] = {}
    for api_name in ctx.kind.patch_carries:
        change = fields.get(api_name)
        carry[api_name] = (
            change.after
            if change is not None
            else obj.fields.get(api_name, ctx.kind.constant_fields.get(api_name))
        )
    return carry


def _unlisted(
    ctx: KindContext,
    cloud: CloudIndex,
    owned: Mapping[str, Ownership],
    listed: tuple[Set[str], Set[str], Set[str]],
    *,
    complete: bool,
) -> list[tuple[str, RemoteObject]]:
    """Objects syncer owns whose keys desired state no longer lists (key, object), in id-map
    order: the candidates for retirement.

    Only in mirror mode, for a kind that is retired at all, and only when the source was read
    completely and listed something (``listed`` holds the valid, duplicated and invalid keys).
    """
    if (
        ctx.mode is not SyncMode.MIRROR
        or not complete
        or not any(listed)
        or ctx.policy.retirement(ctx.kind) is Retirement.NONE
    ):
        return []
    valid, duplicated, invalid = listed
    by_guid = cloud.by_guid
    # A comprehension: it visits every id-map entry of the kind, nearly all of them listed.
    return [
        (key, obj)
        for key, own in owned.items()
        if key not in valid
        and key not in duplicated
        and key not in invalid
        and (obj := by_guid.get(guid_key(own.cwguid))) is not None
    ]


def _claim(cloud: CloudIndex, obj: RemoteObject) -> str:
    """What tells Cloud objects apart when rows claim them: the CWGuid as Cloud spells it when
    Cloud lists each CWGuid once (no lowering per row), else lowered."""
    return obj.cwguid if cloud.guids_unique else guid_key(obj.cwguid)


def _plan_retirements(
    ctx: KindContext,
    cloud: CloudIndex,
    unlisted: Iterable[tuple[str, RemoteObject]],
    unclaimed: Set[str],
    *,
    out: KindOutcome,
) -> None:
    """Retire what syncer owns and desired state no longer lists (mirror mode only).

    An object a desired row matched under another key (renamed in Cloud) is claimed and stays,
    whatever its old id-map key says: only ``unclaimed`` objects are retired.
    """
    retirement = ctx.policy.retirement(ctx.kind)
    for key, obj in unlisted:
        if _claim(cloud, obj) not in unclaimed:
            continue
        change = _retire(ctx, retirement, obj, cloud.display(obj))
        if change is None:
            out.noop += 1
        elif ctx.policy.is_protected(ctx.kind.name, key):
            out.skipped.append(Skipped(change, PROTECTED))
        else:
            out.retirements.append(change)


def _retire(
    ctx: KindContext, retirement: Retirement, obj: RemoteObject, display: str
) -> Change | None:
    """The change retiring ``obj``, or ``None`` when it is already inactive."""
    kind = ctx.kind
    if retirement is Retirement.DELETE:
        return Change(kind.name, Action.DELETE, display, obj.cwguid)
    inactive = ctx.inactive_value()
    active_field = kind.active_field
    if active_field is None:
        return None
    have = obj.fields.get(active_field)
    if normalise(have, False) == inactive:
        return None
    fields = {active_field: FieldChange(have, inactive)}
    _add_inactive_date(ctx, fields, obj.fields)
    return Change(
        kind.name, Action.DEACTIVATE, display, obj.cwguid, fields, _carry(ctx, fields, obj)
    )
