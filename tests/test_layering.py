"""The layering rules of docs/architecture.md, checked on the source with `ast`.

- `pipelines/` never imports `dashboard` (the data layer does not depend on the UI);
- nothing outside `dashboard/` imports Streamlit (every number can be computed without it);
- no module in `pipelines/` or `dashboard/` is over 800 lines (a module is one question).

Each rule is a small pure function over (path, source) so it can be shown to fail on a bad
module (the `test_*_catches_*` tests) as well as to pass on the tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "dashboard")
MAX_LINES = 800


def modules(root: Path = ROOT) -> list[Path]:
    """Every .py file under pipelines/ and dashboard/."""
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def imported_names(source: str) -> set[str]:
    """The top-level package of everything a module imports (at any depth, lazily or not)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def layering_problems(relative: Path, source: str) -> list[str]:
    """What breaks the rules in one module, as sentences naming the module."""
    problems = []
    package = relative.parts[0]
    names = imported_names(source)
    if package == "pipelines" and "dashboard" in names:
        problems.append(f"{relative} imports dashboard: pipelines/ must not depend on the UI")
    if package != "dashboard" and "streamlit" in names:
        problems.append(f"{relative} imports streamlit outside dashboard/")
    n_lines = len(source.splitlines())
    if n_lines > MAX_LINES:
        problems.append(f"{relative} has {n_lines} lines (at most {MAX_LINES})")
    return problems


def tree_problems(root: Path = ROOT) -> list[str]:
    problems = []
    for path in modules(root):
        problems += layering_problems(path.relative_to(root), path.read_text(encoding="utf-8"))
    return problems


def test_the_walk_sees_both_packages():
    found = {p.relative_to(ROOT).parts[0] for p in modules()}
    assert found == set(PACKAGES)
    assert ROOT / "pipelines" / "store" / "warehouse.py" in modules()


def test_the_tree_keeps_the_layering_rules():
    problems = tree_problems()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "import dashboard.charts\n",
        "from dashboard import data\n",
        "def later():\n    from dashboard.state import Filters\n",
    ],
)
def test_a_pipelines_module_importing_dashboard_is_caught(source):
    assert layering_problems(Path("pipelines/report/x.py"), source) == [
        "pipelines/report/x.py imports dashboard: pipelines/ must not depend on the UI"
    ]


@pytest.mark.parametrize("source", ["import streamlit as st\n", "from streamlit import cache\n"])
def test_streamlit_outside_the_dashboard_is_caught(source):
    assert layering_problems(Path("pipelines/x.py"), source) == [
        "pipelines/x.py imports streamlit outside dashboard/"
    ]
    assert layering_problems(Path("dashboard/views/x.py"), source) == []


def test_a_module_over_800_lines_is_caught():
    assert layering_problems(Path("dashboard/x.py"), "x = 1\n" * 800) == []
    assert layering_problems(Path("dashboard/x.py"), "x = 1\n" * 801) == [
        "dashboard/x.py has 801 lines (at most 800)"
    ]


def test_a_bad_file_in_a_tree_is_found(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    assert tree_problems(tmp_path) == []
    (tmp_path / "pipelines" / "bad.py").write_text("import streamlit\nimport dashboard\n")
    assert tree_problems(tmp_path) == [
        "pipelines/bad.py imports dashboard: pipelines/ must not depend on the UI",
        "pipelines/bad.py imports streamlit outside dashboard/",
    ]
