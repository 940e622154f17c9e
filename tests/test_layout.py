"""The shape of the code, computed from its source with ``ast`` so it stays true (issue #10):
no module over 400 lines, no function over 60 lines, no import cycle between modules or between
packages, and another package's modules are reached through its surface (``__all__``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import syncer

ROOT = Path(syncer.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

LONG_MODULES_ALLOWED: frozenset[str] = frozenset()
"""Paths allowed past the limit, each with the issue that shortens it."""

LONG_FUNCTIONS_ALLOWED: frozenset[str] = frozenset()
"""``path:function`` names allowed past the limit, each with the issue that shortens it."""

BOOKKEEPING: Final = frozenset(
    {
        "syncer.apply",
        "syncer.children",
        "syncer.queue",
        "syncer.metrics",
        "syncer.history",
        "syncer.demo",
    }
)
PAST_THE_SURFACE: Final[Mapping[str, frozenset[str]]] = {
    # syncer/store/__init__.py: the engine's bookkeeping reaches its own tables directly.
    "syncer.store.db": BOOKKEEPING,
    "syncer.store.tables": BOOKKEEPING,
    "syncer.store.upsert": BOOKKEEPING,
    "syncer.store.bulk": BOOKKEEPING,
    "syncer.store.idmap": BOOKKEEPING,
    # syncer/store/schema.py: Alembic, imported only by what migrates or checks the revision.
    "syncer.store.schema": BOOKKEEPING,
    # syncer/cloud/__init__.py: the probe studies the wire itself.
    "syncer.cloud": frozenset({"syncer.probe"}),
    # docs/architecture.md section 2: a command loads, late, only the module it needs.
    "syncer": frozenset({"syncer.cli"}),
}
"""Modules (or packages) reached past a package's ``__all__`` -> the modules (or packages) that
may do so; each exception is explained where the comment says."""


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _rel(path: Path) -> str:
    return path.relative_to(ROOT.parent).as_posix()


def _imports(name: str, path: Path) -> set[str]:
    """The syncer modules ``name`` imports at run time (``TYPE_CHECKING`` blocks are not cycles:
    they never execute)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {imported for imported in found if imported.split(".")[0] == "syncer"}


def _runtime_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
        elif id(node) not in skipped:
            yield node


def _graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    return {
        name: {imported for imported in _imports(name, path) if imported in modules} - {name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in ``graph`` (a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _package_of(module: str) -> str:
    """A module's package, one level below ``syncer`` (``syncer.plan.builder`` -> ``syncer.plan``);
    top-level modules are their own package."""
    return ".".join(module.split(".")[:2])


def test_no_module_is_over_400_lines() -> None:
    long = {
        _rel(path): n
        for _, path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert set(long) <= LONG_MODULES_ALLOWED, long


def test_no_function_is_over_60_lines() -> None:
    long: dict[str, int] = {}
    for _, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{_rel(path)}:{node.name}"] = length
    assert set(long) <= LONG_FUNCTIONS_ALLOWED, long


def test_no_import_cycle_between_modules() -> None:
    assert _cycle(_graph()) is None


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, imported in _graph().items():
        edges = packages.setdefault(_package_of(module), set())
        edges.update(_package_of(other) for other in imported)
    for package, edges in packages.items():
        edges.discard(package)
    assert _cycle(packages) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The checks above can fail: a graph with a loop is reported with its path."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _surfaces() -> set[str]:
    """Packages whose ``__init__`` names a public surface (``__all__``)."""
    found = set()
    for name, path in _modules():
        if path.name == "__init__.py" and "__all__" in {
            target.id
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }:
            found.add(name)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _module_imports() -> dict[str, set[str]]:
    """The syncer modules each module imports from, type-only imports included (a type is part
    of a surface too)."""
    modules = dict(_modules())
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = found.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                named = {f"{node.module}.{alias.name}" for alias in node.names}
                targets.update(({node.module} | named) & modules.keys())
    return found


def _past_surfaces(
    imports: Mapping[str, set[str]],
    surfaces: set[str],
    allowed: Mapping[str, frozenset[str]],
) -> set[str]:
    """``importer -> module`` for each import of a module behind another package's surface
    that ``allowed`` does not list."""
    found = set()
    for name, targets in imports.items():
        for target in targets:
            inside = [s for s in surfaces if target.startswith(s + ".")]
            owner = max(inside, key=len, default=None)
            if owner is None or _within(name, owner):
                continue
            if not any(
                _within(target, reached) and any(_within(name, who) for who in importers)
                for reached, importers in allowed.items()
            ):
                found.add(f"{name} -> {target}")
    return found


def test_other_packages_are_reached_through_their_surface() -> None:
    assert _past_surfaces(_module_imports(), _surfaces(), PAST_THE_SURFACE) == set()


def test_the_surface_check_finds_a_deep_import() -> None:
    """The check above can fail: a module behind a surface, imported from outside its package
    and not allowed, is reported; from inside, or allowed, it is not."""
    imports = {
        "syncer.usecases": {"syncer.plan.changes", "syncer.plan"},
        "syncer.plan.builder": {"syncer.plan.changes"},
        "syncer.cli.plan": {"syncer.plan.changes"},
    }
    allowed = {"syncer.plan.changes": frozenset({"syncer.cli"})}
    assert _past_surfaces(imports, {"syncer.plan"}, allowed) == {
        "syncer.usecases -> syncer.plan.changes"
    }
