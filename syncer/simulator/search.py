"""The ``search=<Field><op><Value>`` query language of the v2 API (docs/cloud-api.md §3).

One condition; ops ``=``, ``<``, ``>``, ``<>``; strings and dates in single quotes with ``''`` for
a quote (a backslash before it in a dialect that says so); numbers and ``true``/``false`` bare;
spaces around the operator allowed. Field names bind case-insensitively like request bodies do,
under the names the dialect serves. String comparisons ignore case. Anything else raises
``SearchError``, which the API answers with 400.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from syncer.simulator.dialect import Dialect
from syncer.simulator.resources import FieldType, ResourceSpec

_CONDITION = r"""^\s*(?P<field>[A-Za-z][A-Za-z0-9]*)\s*(?P<op><>|=|<|>)\s*
    (?P<value>{string}|-?\d+(?:\.\d+)?|true|false)\s*$"""
_PATTERNS: Final = {
    escape: re.compile(
        _CONDITION.format(string=Dialect(search_quote_escape=escape).string_pattern()),
        re.VERBOSE | re.IGNORECASE,
    )
    for escape in ("doubled", "backslash")
}
_DEFAULT: Final = Dialect()
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}


class SearchError(ValueError):
    """The search expression is malformed or names a field that cannot be searched."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: object

    def matches(self, obj: Mapping[str, Any]) -> bool:
        actual = obj.get(self.field)
        if actual is None:
            return self.op == "<>"
        expected = self.value
        if isinstance(actual, str) and isinstance(expected, str):
            actual, expected = actual.casefold(), expected.casefold()
        return _OPS[self.op](actual, expected)


def parse_search(text: str, spec: ResourceSpec, dialect: Dialect = _DEFAULT) -> Condition:
    """The condition of ``text`` in ``dialect`` (its quote escape and field names)."""
    match = _PATTERNS[dialect.search_quote_escape].match(text)
    if match is None:
        raise SearchError(f"cannot parse search expression {text!r}")
    bound = dialect.bound_name(spec, match["field"])
    rule = spec.searchable(bound) if bound is not None else None
    if rule is None:
        raise SearchError(f"{match['field']!r} is not a searchable field of {spec.name}")
    raw = match["value"]
    value = _typed_value(raw, rule.type, dialect)
    if value is None:
        raise SearchError(f"{raw!r} is not a valid {rule.type.value} value for {rule.name}")
    if rule.type is FieldType.BOOL and match["op"] not in ("=", "<>"):
        raise SearchError(f"{rule.name} can only be compared with = or <>")
    return Condition(rule.name, match["op"], value)


def _typed_value(raw: str, field_type: FieldType, dialect: Dialect) -> object:
    quoted = raw.startswith("'")
    text = dialect.unescape(raw[1:-1]) if quoted else raw
    if field_type is FieldType.STRING:
        return text if quoted else None
    if field_type is FieldType.DATE:
        return text if quoted and _DATE.match(text) else None
    if field_type is FieldType.BOOL:
        return {"true": True, "false": False}.get(text.lower()) if not quoted else None
    if quoted or "." in text:
        return None
    return int(text)
