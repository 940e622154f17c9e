"""What a probe finds: one ``Check`` per assumption, with what to set when it does not hold."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncer.errors import ExitCode

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class Verdict(StrEnum):
    HOLDS = "holds"
    DIFFERS = "differs"
    UNKNOWN = "unknown"
    """The firm has no data to tell (no group to read members of, no value with a quote...)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One assumption checked against the firm.

    ``settings`` are the configuration keys that make syncer fit what was observed, as dotted
    keys under ``cloud``, all in ``[cloud.api]`` (``api.first_page``,
    ``api.token_lifetime_seconds``); empty when nothing needs setting or nothing can be set.
    """

    id: str
    expected: str
    observed: str
    verdict: Verdict
    advice: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict.value,
            "advice": self.advice,
        }


def holds(check_id: str, expected: str, observed: str) -> Check:
    return Check(check_id, expected, observed, Verdict.HOLDS)


def unknown(
    check_id: str, expected: str, observed: str, advice: str = "probe again once there is data"
) -> Check:
    return Check(check_id, expected, observed, Verdict.UNKNOWN, advice)


def differs(check_id: str, expected: str, observed: str, **settings: Any) -> Check:
    """A difference; ``settings`` (``api__first_page=0``) become the advice and the config."""
    keys = {name.replace("__", "."): value for name, value in settings.items()}
    advice = ", ".join(f"set cloud.{key} = {toml_value(value)}" for key, value in keys.items())
    return Check(check_id, expected, observed, Verdict.DIFFERS, advice, keys)


def differs_without_setting(check_id: str, expected: str, observed: str, advice: str) -> Check:
    """A difference no setting can absorb: the advice says what it means for a run."""
    return Check(check_id, expected, observed, Verdict.DIFFERS, advice)


@dataclass(frozen=True, slots=True)
class ProbeReport:
    checks: Sequence[Check]
    requests: int
    """Requests the probe sent, ``auth/token`` included."""

    @property
    def exit_code(self) -> ExitCode:
        if any(c.verdict is Verdict.DIFFERS for c in self.checks):
            return ExitCode.CHANGES_PENDING
        return ExitCode.OK

    def as_json(self) -> dict[str, Any]:
        return {"format_version": 1, "checks": [c.as_json() for c in self.checks]}

    def settings(self) -> dict[str, Any]:
        """Every advised key, dotted under ``cloud`` (later checks win on a clash)."""
        merged: dict[str, Any] = {}
        for check in self.checks:
            merged.update(check.settings)
        return merged


def toml_value(value: Any) -> str:
    """A value in TOML spelling (the advice quotes it as it would be written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def toml_key(name: str) -> str:
    return name if BARE_KEY.match(name) else toml_value(name)
