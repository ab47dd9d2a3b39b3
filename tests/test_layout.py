"""The package's rooms and doors (DESIGN.md), read from the source with `ast`.

Imports run one way: cli -> recipes -> world -> train/bench -> models/diffusion/parallel ->
media/physics. This test reads every import of worldsim/ and data_pipelines/ (module level
and inside functions) and fails on a circle between modules, physics/ importing JAX,
bench/ importing world/, models/ or train/, and train/ importing world/, recipes/ or a
model. It prints what it checked, so its output on the tree can be quoted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("worldsim", "data_pipelines")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file (absolute, as written)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            # `from a.b import c` depends on a.b.c if c is a module, else on a.b (resolved
            # by `import_graph`); the package's __init__ is not counted as a dependency.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of this repository it imports (submodule or package)."""
    files = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # `from a.b import c`: c may be a module (a.b.c) or a name in a.b.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "worldsim" and len(parts) > 1 else parts[0]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _third_party(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(path)}


# (room, forbidden import prefixes, why)
RULES = (
    ("worldsim.physics", ("jax", "flax", "optax"), "physics is the ground truth: no JAX"),
    (
        "worldsim.bench",
        ("worldsim.world", "worldsim.models", "worldsim.train", "worldsim.recipes"),
        "bench scores files of any model",
    ),
    (
        "worldsim.train",
        ("worldsim.world", "worldsim.recipes", "worldsim.models", "worldsim.bench"),
        "the engine names no model",
    ),
    ("worldsim.world", ("worldsim.recipes", "worldsim.cli"), "imports run downward"),
    ("worldsim.recipes", ("worldsim.cli",), "imports run downward"),
    (
        "worldsim.provenance",
        ("worldsim.world", "worldsim.models", "worldsim.train", "worldsim.recipes", "jax"),
        "provenance marks, signs and checks files of any model",
    ),
    (
        "data_pipelines",
        ("worldsim.models", "worldsim.train", "worldsim.world", "worldsim.recipes"),
        "data pipelines know no model",
    ),
)


def layout_violations(graph: dict[str, set[str]]) -> list[str]:
    files = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    problems = []
    for module, targets in sorted(graph.items()):
        names = targets | _third_party(files[module])
        for room, forbidden, why in RULES:
            if module != room and not module.startswith(room + "."):
                continue
            for name in sorted(names):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    problems.append(f"{module} imports {name} ({why})")
        if not module.startswith("worldsim.cli"):
            for name in sorted(targets):
                if name.startswith("worldsim.cli"):
                    problems.append(f"{module} imports {name} (nothing imports cli)")
    return problems


def test_no_import_circles_and_every_room_keeps_its_doors():
    graph = import_graph()
    cycles = find_cycles(graph)
    problems = layout_violations(graph)
    rooms = sorted({_room(m) for m in graph})
    edges = sum(len(t) for t in graph.values())
    print(f"\n{len(graph)} modules in {len(rooms)} rooms, {edges} internal imports")
    print(f"circles: {cycles or 'none'}")
    print(f"layout violations: {problems or 'none'}")
    assert not cycles, f"import circles: {cycles}"
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_circle_and_a_forbidden_import():
    """Break what the test guards (on a copy of the graph): it must fail."""
    graph = import_graph()
    broken = {k: set(v) for k, v in graph.items()}
    broken["worldsim.train.trainer"].add("worldsim.world.stages")  # world.stages imports trainer
    assert find_cycles(broken)
    assert any("names no model" in p for p in layout_violations(broken))
    broken = {k: set(v) for k, v in graph.items()}
    broken["worldsim.bench.metrics"].add("worldsim.models.av_dit")
    assert any("bench scores files" in p for p in layout_violations(broken))


@pytest.mark.parametrize(
    "command", ["train", "generate", "bench", "demo", "data", "provenance", "cameo"]
)
def test_help_imports_no_jax(command):
    """`--help` returns at once: nothing heavy is imported before the arguments are parsed."""
    code = (
        "import sys\n"
        "from worldsim.cli import main\n"
        "try:\n"
        f"    main([{command!r}, '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('jax', 'flax', 'tensorflow_datasets', 'grain', 'imageio', 'orbax',"
        " 'c2pa', 'cryptography', 'sqlite3')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY []" in done.stdout, done.stdout[-2000:]
    assert "(default:" in done.stdout or command not in ("generate", "demo")  # defaults shown
