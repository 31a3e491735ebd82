"""The modules of ``spikelearn/`` import each other without a cycle.

Every ``import`` and ``from ... import`` counts, at any nesting level: an import inside a function
that dodges a circle at load time is still a circle in the design. Relative imports are resolved
against the importing module; ``from pkg import name`` counts as importing ``pkg.name`` when that is a
module, else ``pkg``. Only modules whose files lie in ``spikelearn/`` are nodes of the graph, and an
import names only the module it imports (not the parent packages Python loads on the way).
"""

import ast
from pathlib import Path

import spikelearn

PACKAGE_DIR = Path(spikelearn.__file__).parent


def module_files():
    """``{module name: path}`` for every ``.py`` file under ``spikelearn/``."""
    modules = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ("spikelearn",) + path.relative_to(PACKAGE_DIR).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name, path, modules):
    """The modules of ``modules`` that module ``name`` (file ``path``) imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def add(target):
        # the named module, or the nearest enclosing module of the package that is one of ours
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base)
    return found


def import_graph():
    modules = module_files()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycle(graph):
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state = {}  # 1: on the current path, 2: finished

    def visit(node, path):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_graph_sees_known_edges():
    graph = import_graph()
    assert "spikelearn.errors" in graph["spikelearn.devices"]        # from .errors import ...
    assert "spikelearn.cuda" in graph["spikelearn.devices"]          # import inside a function
    assert "spikelearn.analysis._io" in graph["spikelearn.analysis.report"]  # from . import _io
    assert "spikelearn.results" in graph["spikelearn.analysis.report"]       # absolute import


def test_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
