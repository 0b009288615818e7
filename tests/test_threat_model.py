"""docs/threat-model.md names the test behind each line: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "threat-model.md"
# `tests/x.py::test_name`, `::test_other` (same file as the one before), or a whole `tests/x.py`.
_REF = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def references(text: str) -> list[tuple[str, str | None]]:
    """(file, test or None) for every test reference, ``::name`` resolved against the last file."""
    found: list[tuple[str, str | None]] = []
    last: str | None = None
    for file, name in _REF.findall(text):
        if file:
            last = file
        if not file and not name:
            continue
        assert last is not None, f"`::{name}` before any test file"
        found.append((last, name or None))
    return found


def test_every_test_the_threat_model_names_exists() -> None:
    refs = references(DOC.read_text(encoding="utf-8"))
    assert len(refs) >= 20  # the parser found the table's references
    missing = []
    for file, name in refs:
        path = ROOT / file
        if not path.is_file():
            missing.append(file)
        elif name is not None and name not in _tests_in(path):
            missing.append(f"{file}::{name}")
    assert not missing, f"docs/threat-model.md names tests that do not exist: {missing}"


def test_a_missing_test_is_found() -> None:
    refs = references("`tests/test_threat_model.py::test_nothing_here` and `::test_a_missing_test_is_found`")
    assert refs == [
        ("tests/test_threat_model.py", "test_nothing_here"),
        ("tests/test_threat_model.py", "test_a_missing_test_is_found"),
    ]
    assert "test_nothing_here" not in _tests_in(ROOT / "tests/test_threat_model.py")
