"""Docs kept in step with the code (as datasette's tests/test_docs.py keeps its docs).

- `docs/data-contracts.md` is exactly what `contracts_markdown()` generates (it is written by
  `rp-impact contracts --out docs/data-contracts.md`);
- the module table of `docs/architecture.md` names exactly the modules and packages that exist
  directly under `pipelines/` and `dashboard/`, and every deeper module it names exists.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.contracts import contracts_markdown

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "dashboard")
_PATH = re.compile(r"`((?:pipelines|dashboard)/[^`\s]*)`")


def module_table(markdown: str) -> list[str]:
    """The first cell of every row of the table under `## Modules`."""
    section = markdown.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [row.split("|")[1] for row in rows[2:]]  # past the header and its rule


def named_paths(cells: list[str]) -> set[str]:
    """Every `pipelines/...` or `dashboard/...` path written in backticks in the cells."""
    return {path for cell in cells for path in _PATH.findall(cell)}


def top_level(path: str) -> str:
    """`pipelines/x.py` for a module, `pipelines/x/` for anything in (or naming) a package."""
    parts = path.split("/")
    if len(parts) == 2 and parts[1].endswith(".py"):
        return path
    return f"{parts[0]}/{parts[1]}/"


def existing_top_level(root: Path = ROOT) -> set[str]:
    """The modules and packages directly under pipelines/ and dashboard/."""
    found = set()
    for package in PACKAGES:
        for entry in (root / package).iterdir():
            if entry.suffix == ".py" and entry.name != "__init__.py":
                found.add(f"{package}/{entry.name}")
            elif entry.is_dir() and (entry / "__init__.py").exists():
                found.add(f"{package}/{entry.name}/")
    return found


def table_problems(markdown: str, root: Path = ROOT) -> list[str]:
    named = named_paths(module_table(markdown))
    listed = {top_level(path) for path in named}
    existing = existing_top_level(root)
    problems = [f"{p} exists but is not in the module table" for p in sorted(existing - listed)]
    problems += [
        f"{p} is in the module table but does not exist" for p in sorted(listed - existing)
    ]
    for path in sorted(named):
        if not any(root.glob(path.rstrip("/"))):
            problems.append(f"{path} is in the module table but does not exist")
    return sorted(set(problems))


def test_data_contracts_doc_is_generated_from_the_contracts():
    doc = (ROOT / "docs" / "data-contracts.md").read_text(encoding="utf-8")
    assert doc == contracts_markdown(), (
        "docs/data-contracts.md differs from the contracts: run "
        "`rp-impact contracts --out docs/data-contracts.md`."
    )


def test_the_module_table_lists_exactly_the_modules_that_exist():
    markdown = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    problems = table_problems(markdown)
    assert problems == [], "\n".join(problems)


_TABLE = """# Architecture

## Modules

| module | owns |
|---|---|
| `pipelines/a.py`, `pipelines/b/` | two |
| `pipelines/b/c.py` | a module in a package |
| `dashboard/app.py` | the app |

## Next
"""


def _tree(tmp_path: Path) -> Path:
    for folder in ("pipelines", "pipelines/b", "dashboard"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    for module in ("pipelines/a.py", "pipelines/b/c.py", "dashboard/app.py"):
        (tmp_path / module).write_text("")
    return tmp_path


def test_a_table_in_step_has_no_problems(tmp_path):
    assert table_problems(_TABLE, _tree(tmp_path)) == []


def test_a_new_module_missing_from_the_table_is_caught(tmp_path):
    root = _tree(tmp_path)
    (root / "pipelines" / "measures.py").write_text("")
    (root / "dashboard" / "views").mkdir()
    (root / "dashboard" / "views" / "__init__.py").write_text("")
    assert table_problems(_TABLE, root) == [
        "dashboard/views/ exists but is not in the module table",
        "pipelines/measures.py exists but is not in the module table",
    ]


def test_a_module_that_was_moved_or_removed_is_caught(tmp_path):
    root = _tree(tmp_path)
    (root / "pipelines" / "a.py").unlink()
    (root / "pipelines" / "b" / "c.py").unlink()
    assert table_problems(_TABLE, root) == [
        "pipelines/a.py is in the module table but does not exist",
        "pipelines/b/c.py is in the module table but does not exist",
    ]
