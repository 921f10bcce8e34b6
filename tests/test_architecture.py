"""The import rule of ARCHITECTURE.md, enforced over every module's imports, those inside functions too, and
no import cycle between modules (an import inside a function does not hide one)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"registry", "crawlers", "reports", "scheduler", "simulator", "govpulse", "benchmarks", "tests"}
ALLOWED = {
    "registry": set(),
    "crawlers": {"registry"},
    "reports": {"registry"},
    "scheduler": {"registry", "crawlers", "reports"},
    "simulator": {"registry"},
    "govpulse": {"registry", "crawlers", "reports", "scheduler"},
}
# The demo and the simulate command serve the simulator on purpose; nothing else in the product may.
SIMULATOR_USERS = {"govpulse/demo.py", "govpulse/commands/simulate.py"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def violations() -> list[str]:
    bad = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            extra = {"simulator"} if rel in SIMULATOR_USERS else set()
            for other in sorted(imported_packages(path) - {package} - allowed - extra):
                bad.append(f"{rel} imports {other}")
    return bad


def test_every_package_imports_only_what_the_architecture_allows() -> None:
    assert violations() == []


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from reports.queries import load_report_data\n", encoding="utf-8")
    assert imported_packages(module) == {"reports"}


PRODUCT = ("registry", "crawlers", "reports", "scheduler", "simulator", "govpulse")


def module_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (anywhere but under `if TYPE_CHECKING:`)."""
    files = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            files[name.removesuffix(".__init__")] = path

    def module_of(name: str) -> str | None:  # `from a.b import c`: the module a.b.c, else a.b
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        targets: set[str | None] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets.update(module_of(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets.update(module_of(f"{node.module}.{alias.name}") for alias in node.names)
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules() -> None:
    assert cycles(module_graph()) == []


def test_the_cycle_check_sees_through_an_import_inside_a_function() -> None:
    graph = {
        "scheduler.chain": {"scheduler.runtime"},
        "scheduler.steps": {"scheduler.chain", "scheduler.alerts"},
        "scheduler.alerts": {"scheduler.chain"},
    }
    assert cycles(graph) == []
    graph["scheduler.chain"].add("scheduler.steps")  # `from scheduler import steps` inside a function
    assert cycles(graph) == [["scheduler.alerts", "scheduler.chain", "scheduler.steps"]]
