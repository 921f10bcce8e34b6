"""The import rule of ARCHITECTURE.md, enforced over every module's imports, those inside functions too."""

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
