"""The app layers, and a checker that walks the code to hold them.

Bazaar's apps sit in one-way floors: an app imports only apps on floors below it, never
one beside it (siblings stay independent) or above it, and reads and writes only its own
tables in raw SQL. Tests, migrations and the project package (`shop`: settings, URLs,
Celery) are outside the rule: they wire or exercise every floor.

`python -m tests.layers` prints the app-to-app import graph.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. `core` is the package shop.core.
LAYERS: list[list[str]] = [
    ["core"],
    ["accounts"],
    ["catalog"],
    ["cart", "shipping"],
    ["orders"],
    ["payments"],
    ["fulfilment"],
    ["reviews"],
    ["storefront", "backoffice"],
]

_SKIPPED_DIRS = {"tests", "migrations", "__pycache__"}
_SQL = re.compile(r"\b(SELECT|UPDATE|INSERT|DELETE|JOIN)\b", re.I)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


def _app_dir(root: Path, app: str) -> Path:
    return root / "shop" / "core" if app == "core" else root / app


def _app_of(module: str, apps: set[str]) -> str | None:
    if module == "shop.core" or module.startswith("shop.core."):
        return "core"
    top = module.split(".")[0]
    return top if top in apps else None


def _modules(root: Path, app: str) -> Iterator[tuple[Path, str]]:
    base = _app_dir(root, app)
    for path in sorted(base.rglob("*.py")):
        if _SKIPPED_DIRS & set(path.relative_to(base).parts):
            continue
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield path, module


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every module a file imports, at any depth (deferred and type-only imports too)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name, node.lineno


def import_edges(root: Path, apps: Sequence[str]) -> list[Edge]:
    known = set(apps)
    edges = []
    for app in apps:
        for path, module in _modules(root, app):
            tree = ast.parse(path.read_text(), filename=str(path))
            for name, line in _imported(tree, module, path.name == "__init__.py"):
                target = _app_of(name, known)
                if target is not None and target != app:
                    edges.append(Edge(app, target, f"{path.relative_to(root)}:{line}"))
    return edges


def layer_violations(root: Path, layers: Sequence[Sequence[str]]) -> list[str]:
    """Imports that go up or sideways between apps (a cycle needs one of those)."""
    floor = {app: level for level, apps in enumerate(layers) for app in apps}
    return [
        f"{edge} (floor {floor[edge.target]} is not below floor {floor[edge.source]})"
        for edge in import_edges(root, list(floor))
        if floor[edge.target] >= floor[edge.source]
    ]


def foreign_sql(root: Path, apps: Sequence[str], tables: Mapping[str, str]) -> list[str]:
    """Raw SQL in an app's code that names another app's table. `tables` maps each table
    name to the app that owns it."""
    found = []
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(tables))) + r")\b")
    for app in apps:
        for path, _module in _modules(root, app):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                if not _SQL.search(node.value):
                    continue
                for table in set(pattern.findall(node.value)):
                    if tables[table] != app:
                        found.append(
                            f"{path.relative_to(root)}:{node.lineno}: {app} SQL names "
                            f"{table} ({tables[table]}'s table)"
                        )
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for edge in import_edges(root, [app for layer in LAYERS for app in layer]):
        edges.setdefault(edge.source, set()).add(edge.target)
    return edges


if __name__ == "__main__":
    apps = [app for layer in LAYERS for app in layer]
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT
    for source, targets in sorted(graph(root).items(), key=lambda kv: apps.index(kv[0])):
        print(f"{source} -> {', '.join(sorted(targets, key=apps.index))}")
