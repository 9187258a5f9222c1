"""The house rules of idp's imports, read from the source (every import statement, those inside
functions too): no cycle between modules, and every arrow points down the layers that
docs/design.md draws. A new package or module must be given its layer here."""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "idp"

#: Each part of idp (a package, or a module at the top) and its layer: a part imports only
#: parts of lower layers. docs/design.md shows the same picture.
LAYERS = {
    "errors": 0,  # the one exception root
    # the domain model and small shared pieces
    "timestamps": 1, "hosts": 1, "users": 1, "regions": 1, "logs": 1, "concurrency": 1,
    "datafiles": 1, "keys": 1, "sqlite": 1, "objects": 1, "csvtable": 1,
    "config": 2,
    "saml": 3, "observe": 3,  # the protocol (no Flask, no configuration); metrics and audit
    "cic": 4, "genesys": 4,  # clients of the systems cic-sts talks to
    "auth": 5,  # authentication backends (the icws one uses the CIC client)
    "demo": 6, "proxy": 6, "web": 6, "server": 6,
    "sync": 7,
    "commands": 8, "wsgi": 8, "gunicorn_conf": 8,
    "cli": 9,
    "__main__": 10,
}


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> set[str]:
    """Every idp module `path` imports, by name, wherever the statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "idp" or name.startswith("idp.")}


@functools.cache
def graph() -> dict[str, set[str]]:
    """Module -> the idp modules it imports (a name like idp.x.y.Thing counts as idp.x.y)."""
    known = modules()

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts:
            if ".".join(parts) in known:
                return ".".join(parts)
            parts.pop()
        return None

    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in known.items():
        for name in imports(path):
            target = resolve(name)
            # a module importing its own package's __init__ is no arrow of the graph
            if target and target != module and not module.startswith(target + "."):
                edges[module].add(target)
    return edges


def part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_every_part_has_a_layer() -> None:
    parts = {part(m) for m in modules() if m != "idp"}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS: {sorted(parts - set(LAYERS))}"


def test_every_import_points_down() -> None:
    upward = sorted(f"{module} -> {target}" for module, targets in graph().items()
                    for target in targets
                    if part(target) != part(module)
                    and LAYERS[part(target)] >= LAYERS[part(module)])
    assert not upward, "imports that point up or sideways:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules():
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_the_named_rules() -> None:
    """The rules docs/design.md states in words, checked on the third-party imports too."""
    known = modules()

    def third_party(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
        return names

    for module, path in known.items():
        targets = {part(t) for t in graph().get(module, ())}
        if part(module) == "saml":
            assert "flask" not in third_party(path), f"{module} imports Flask"
            assert "config" not in targets, f"{module} imports the configuration"
        if part(module) in ("cic", "genesys"):
            assert not targets & {"web", "sync", "commands", "cli", "auth"}, \
                f"the client {module} imports {targets & {'web', 'sync', 'commands', 'cli'}}"
        if part(module) not in ("commands", "cli"):
            assert "commands" not in targets, f"{module} imports a command"
