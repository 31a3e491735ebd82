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


def test_results_and_analysis_need_no_plugins():
    """A run directory is read without the registry or the tasks: nothing in ``results`` or
    ``analysis`` imports them (task figures are made by the run or by the CLI, not by analysis)."""
    graph = import_graph()
    readers = [m for m in graph if m == "spikelearn.results" or m.startswith("spikelearn.analysis")]
    assert readers
    for module in readers:
        bad = sorted(t for t in graph[module] if t == "spikelearn.registry" or t.startswith("spikelearn.tasks"))
        assert not bad, f"{module} imports {bad}"


BRIAN2_OBJECTS = {"NeuronGroup", "Synapses", "SpikeGeneratorGroup", "StateMonitor", "SpikeMonitor", "EventMonitor",
                  "PopulationRateMonitor", "Network", "run_regularly"}
# the builder; the guard attaches its in-loop checks to the groups the builder made
BUILDERS = {"spikelearn/build.py", "spikelearn/guard.py"}


def brian2_object_uses(path):
    """Brian2 network objects that ``path`` creates: calls ``NeuronGroup(...)``, ``b2.Synapses(...)``,
    ``group.run_regularly(...)`` (importing a class, e.g. for ``isinstance``, creates nothing)."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in BRIAN2_OBJECTS:
                used.add(name)
    return used


def test_only_the_builder_creates_brian2_objects():
    """Tasks and models contribute data (`spikelearn.network`); only the builder makes Brian2 objects."""
    root = PACKAGE_DIR.parent
    files = [p for d in ("spikelearn", "models", "plasticity") for p in (root / d).rglob("*.py")]
    assert len(files) > 20
    offenders = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel not in BUILDERS and (used := brian2_object_uses(path)):
            offenders[rel] = sorted(used)
    assert not offenders, f"Brian2 objects made outside the builder: {offenders}"
