"""No circles, no upward imports: the import graph of gan_lab (module-level and function-level
imports alike, read with ast) has no cycle, and the rooms keep their layering."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gan_lab"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Each gan_lab module -> the gan_lab modules it imports anywhere in its file."""
    modules = _modules()

    def owner(name: str) -> str | None:  # gan_lab.x.y.name -> the module that holds it
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    if path.name != "__init__.py":
                        base = base[:-1]
                    base = base[:len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                names += [source] + [f"{source}.{alias.name}" for alias in node.names]
        targets = {owner(name) for name in names if name.split(".")[0] == "gan_lab"}
        graph[module] = {target for target in targets if target and target != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every simple cycle, each once, starting at its smallest module name."""
    found = set()
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for target in graph[node]:
                if target == start:
                    found.add(tuple(path))
                elif target > start and target not in path:
                    stack.append((target, [*path, target]))
    return [list(cycle) for cycle in sorted(found)]


def test_the_graph_is_read():
    graph = import_graph()
    assert "gan_lab.config" in graph["gan_lab.train"]
    assert "gan_lab.building" in graph["gan_lab.loading"]  # a function-level import
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    found = [" -> ".join([*cycle, cycle[0]]) for cycle in cycles(import_graph())]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_layering():
    graph = import_graph()
    # the config checks know nothing of --help or resuming: the resolvers that do live apart
    assert not graph["gan_lab.config"] & {"gan_lab.help", "gan_lab.resume", "gan_lab.resolvers"}
    # building a module from config (and so loading a checkpoint) needs no training loop
    assert "gan_lab.train" not in graph["gan_lab.building"]
    assert "gan_lab.train" not in graph["gan_lab.loading"]
    for command in ("gan_lab.evaluate", "gan_lab.classifier", "gan_lab.sample",
                    "gan_lab.translate"):
        assert "gan_lab.train" not in graph[command], command


def _imports_room(graph: dict[str, set[str]], module: str, room: str) -> bool:
    return any(target == room or target.startswith(room + ".") for target in graph[module])


def test_lower_rooms_import_no_higher_one():
    """DESIGN.md's rule: nets, losses, data and metrics never import models, callbacks or
    training; models never import data; callbacks reach schemes through gan_lab.protocols."""
    graph = import_graph()
    rules = {
        "gan_lab.nets": ("gan_lab.models", "gan_lab.callbacks", "gan_lab.train", "gan_lab.data"),
        "gan_lab.losses": ("gan_lab.models", "gan_lab.callbacks", "gan_lab.train", "gan_lab.data"),
        "gan_lab.data": ("gan_lab.models", "gan_lab.callbacks", "gan_lab.train",
                         "gan_lab.metrics"),
        "gan_lab.metrics": ("gan_lab.models", "gan_lab.callbacks", "gan_lab.train"),
        "gan_lab.models": ("gan_lab.data", "gan_lab.callbacks", "gan_lab.train"),
        "gan_lab.callbacks": ("gan_lab.models", "gan_lab.train"),
    }
    broken = [f"{module} imports {room}"
              for module in sorted(graph)
              for lower, rooms in rules.items() if module == lower or module.startswith(lower + ".")
              for room in rooms if _imports_room(graph, module, room)]
    assert not broken, "\n".join(broken)
    # the bottom modules import nothing of gan_lab
    for bottom in ("gan_lab.kinds", "gan_lab.protocols", "gan_lab.readers"):
        assert not graph[bottom], bottom
