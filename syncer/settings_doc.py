"""The configuration reference, generated from the settings model.

``python -m syncer.settings_doc`` prints a markdown table of every key (type, default, environment
variable, description); ``--write README.md`` replaces the README's generated section in place.
A test compares the README with this output, so the documentation cannot drift from the code:
adding a setting means adding its docstring, and the README follows with one command.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from syncer.settings import FirmSettings, Settings

BEGIN = "<!-- BEGIN GENERATED: configuration reference (python -m syncer.settings_doc) -->"
END = "<!-- END GENERATED: configuration reference -->"
ENV_PREFIX = "SYNCER_"

_SCALAR_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret",
}
_BOUNDS: tuple[tuple[type, str, str], ...] = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
)


def type_name(annotation: Any) -> str:
    """A reader's name for a type: ``string``, ``"a" | "b"``, ``table of string → boolean``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f'`"{arg}"`' for arg in args)
    if origin in (Union, types.UnionType):
        named = [type_name(arg) for arg in args if arg is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " \\| ".join(named) + optional
    if origin is dict:
        return f"table of {type_name(args[0])} → {type_name(args[1])}"
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f'`"{member.value}"`' for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _SCALAR_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def bounds(info: FieldInfo) -> str:
    """Numeric limits from ``Annotated[..., Field(ge=...)]``, e.g. ``≥ 1, ≤ 50``."""
    found = [
        f"{symbol} {getattr(item, attribute)}"
        for item in info.metadata
        for kind, attribute, symbol in _BOUNDS
        if isinstance(item, kind)
    ]
    return ", ".join(found)


def markdown(docstring: str) -> str:
    """A docstring as one table cell: one line, markdown backticks, pipes escaped."""
    return " ".join(docstring.split()).replace("``", "`").replace("|", "\\|")


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        return "(environment)"
    if isinstance(value, Enum):
        value = value.value
    match value:
        case None:
            return "none"
        case bool():
            return f"`{str(value).lower()}`"
        case str():
            return f'`"{value}"`'
        case dict() if not value:
            return "`{}`"
        case tuple() | list() if not value:
            return "`[]`"
        case BaseModel():
            return "see below"
    return f"`{value}`"


def _rows(
    model: type[BaseModel], prefix: str, env: str | None
) -> Iterator[tuple[str, str, str, str, str]]:
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = info.annotation
        variable = f"`{env}{name.upper()}`" if env is not None else "—"
        kind = type_name(annotation)
        if limits := bounds(info):
            kind = f"{kind} ({limits})"
        description = markdown(info.description or "")
        if model is FirmSettings and name == "cloud":
            yield (f"`{key}.*`", "table", "—", variable, f"{description} See `cloud.*`.")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if prefix:  # a table inside a section (``[cloud.api]``): say what it is for first
                yield (f"`{key}`", kind, default_text(info), "—", description)
            yield from _rows(annotation, f"{key}.", f"{env}{name.upper()}__" if env else None)
        elif name == "firms":
            yield from _rows(FirmSettings, "firms[].", None)
        else:
            yield (f"`{key}`", kind, default_text(info), variable, description)


def render() -> str:
    """The markdown table of every configuration key."""
    lines = [
        "| key | type | default | environment variable | description |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(Settings, "", ENV_PREFIX)]
    return "\n".join(lines) + "\n"


def section() -> str:
    """The generated block as it appears in the README, markers included."""
    return f"{BEGIN}\n{render()}{END}"


def replace_section(text: str) -> str:
    """``text`` with its generated block replaced by the current one."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + section() + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncer.settings_doc", description=__doc__)
    parser.add_argument("--write", type=Path, metavar="README", help="update this file in place")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render())
        return 0
    args.write.write_text(replace_section(args.write.read_text(encoding="utf-8")), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
