"""The planner's field values: each desired row checked and compared with Cloud's in one pass.

The rules themselves (what a value may be, when two values are equal) live in
``syncer.value_rules``; this module only makes them fast. This is the planner's hot loop (once
per field of every desired row), so ``compile_changes`` turns each kind's fields into one small
generated function, and values that are already equal skip normalisation. The generated code
inlines the rules' tests (length, canonical choice, type); ``tests/test_value_rules.py`` pins
its verdicts to ``syncer.value_rules``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from syncer.model import ChildKind, FieldSpec, ObjectKind, ValueType
from syncer.plan.changes import FieldChange
from syncer.value_rules import differs, reason

Changes = Callable[[Mapping[str, object], Mapping[str, object]], dict[str, FieldChange] | str]
"""``changes(values, remote)``: the managed fields a desired row sets that ``remote`` holds
differently (API name -> before/after, in API terms), or the first reason (model order) the row
cannot be sent. A create passes an empty ``remote``: every value set becomes a change from None."""


_COMPILED: dict[int, tuple[ObjectKind | ChildKind, Changes]] = {}
"""Each kind's function by the kind's id (kinds are frozen but hold dicts, so not hashable),
the kind kept beside it so that its id is never reused for another."""


def compile_changes(kind: ObjectKind | ChildKind) -> Changes:
    """``kind``'s ``Changes`` function, generated on its first use in the process: compiling
    it cost more than half of planning a 60-row firm, and a worker plans once per job."""
    found = _COMPILED.get(id(kind))
    if found is None:
        found = _COMPILED[id(kind)] = (kind, generate_changes(kind))
    return found[1]


def generate_changes(kind: ObjectKind | ChildKind) -> Changes:
    """Generate ``kind``'s ``Changes`` function: one pass validates and compares, with the
    fields unrolled in model order and their rules written in as constants.

    A loop over field descriptions spends most of its time unpacking them; the generated code
    does only the per-value work. Its source is small and readable (``changes_source``).
    """
    namespace: dict[str, object] = {
        "FieldChange": FieldChange,
        "differs": differs,
        "reason": reason,
    }
    for i, spec in enumerate(kind.fields):
        namespace[f"spec_{i}"] = spec
        namespace[f"choices_{i}"] = frozenset(spec.choices or ())
        namespace[f"codec_{i}"] = spec.codec.to_api
    code = compile(changes_source(kind), f"<changes of {kind.name}>", "exec")
    exec(code, namespace)  # noqa: S102 - source built from the model only, never from data
    compiled: Changes = namespace["changes"]  # type: ignore[assignment]
    return compiled


def changes_source(kind: ObjectKind | ChildKind) -> str:
    """The source ``compile_changes`` runs: one block per field, e.g. for entities' name

    .. code-block:: python

        value = values.get('name')
        if value is not None:
            if not isinstance(value, str):
                return reason(spec_0, value)
            value = value.strip()
            if len(value) > 200:
                return reason(spec_0, value)
            have = remote.get('Name')
            if have != value and differs(value, have, False):
                changes['Name'] = FieldChange(have, value)

    A case-insensitive text field also settles texts that differ only in case in place.
    """
    lines = [
        "def changes(values, remote):",
        "    changes = {}",
    ]
    for i, spec in enumerate(kind.fields):
        lines += _field_source(i, spec)
    lines.append("    return changes")
    return "\n".join(lines) + "\n"


def _field_source(i: int, spec: FieldSpec) -> list[str]:
    """One field's block: skip an unset value, validate (cheapest tests first), encode, then
    compare with Cloud's value, normalising only values that are not already equal."""
    is_text = spec.value_type is ValueType.TEXT
    expected = "str" if is_text else "bool"
    lines = [
        f"    value = values.get({spec.column!r})",
        "    if value is not None:",
        f"        if not isinstance(value, {expected}):",
        f"            return reason(spec_{i}, value)",
    ]
    if is_text:
        tests = []
        if spec.max_length is not None:
            tests.append(f"len(value) > {spec.max_length}")
        if spec.choices is not None:
            tests.append(f"value not in choices_{i}")
        lines.append("        value = value.strip()")
        if tests:
            lines += [
                f"        if {' or '.join(tests)}:",
                f"            return reason(spec_{i}, value)",
            ]
    if spec.codec.to_api:
        lines.append(f"        value = codec_{i}.get(value, value)")
    fold = spec.case_insensitive
    # Texts differing only in case (every entity's country code in a migration) are settled
    # without two ``normalise`` calls: equal trimmed, folded texts normalise equally.
    case_only = (
        " and (type(have) is not str or have.strip().casefold() != value.casefold())"
        if fold and is_text and not spec.codec.to_api
        else ""
    )
    lines += [
        f"        have = remote.get({spec.api_name!r})",
        f"        if have != value{case_only} and differs(value, have, {fold}):",
        f"            changes[{spec.api_name!r}] = FieldChange(have, value)",
    ]
    return lines
