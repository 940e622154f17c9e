"""A probe report for people (a rich table), for scripts (JSON) and for syncer (TOML settings)."""

from __future__ import annotations

from typing import Any

import orjson
from rich import box
from rich.table import Table
from rich.text import Text

from syncer.assumptions import ApiSettings
from syncer.probe.report import ProbeReport, Verdict, toml_key, toml_value
from syncer.settings import CloudSettings

STYLES = {Verdict.HOLDS: "green", Verdict.DIFFERS: "bold red", Verdict.UNKNOWN: "yellow"}


def table(report: ProbeReport, firm: str) -> Table:
    """Every check as a row; text from the firm goes through ``Text``, never through markup."""
    shown = Table(
        title=f"Probe of firm {firm} ({report.requests} requests)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_lines=False,
    )
    for column in ("check", "verdict", "expected", "observed", "advice"):
        shown.add_column(column, overflow="fold", no_wrap=column == "check")
    for check in report.checks:
        shown.add_row(
            Text(check.id),
            Text(check.verdict.value, style=STYLES[check.verdict]),
            Text(check.expected),
            Text(check.observed),
            Text(check.advice),
        )
    return shown


def as_json(report: ProbeReport) -> bytes:
    return orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2) + b"\n"


def config_toml(cloud: CloudSettings, report: ProbeReport) -> str:
    """The whole ``[cloud.api]`` section that fits: every key the probe advises is in it.

    The section is written whole (configured values where nothing differed) and validated, so the
    file names every assumption and ``--config`` accepts it as it is.
    """
    api: dict[str, Any] = cloud.api.model_dump()
    for key, value in report.settings().items():
        _api, *inner, last = key.split(".")
        target = api
        for part in inner:
            target = target.setdefault(part, {})
        target[last] = value
    ApiSettings.model_validate(api)
    lines = ["# Written by `syncer probe`: merge these keys into your configuration file."]
    lines += ["", "[cloud.api]", *_assignments(api)]
    return "\n".join(lines) + "\n"


def _assignments(table: dict[str, Any]) -> list[str]:
    return [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]
