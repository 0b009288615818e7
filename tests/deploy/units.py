"""Reading deploy/ files as their tools do: systemd units (repeated keys kept) and Containerfiles."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from deconflict.cli import _parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def unit_sections(path: Path) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values in order]}}`` of a systemd unit file (comments and blanks skipped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: not a unit line: {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def check_deconflict_command(argv: list[str], where: str) -> None:
    """``argv`` runs ``deconflict`` with arguments its parser accepts (argparse exits on any it does not)."""
    assert Path(argv[0]).name == "deconflict", f"{where}: runs {argv[0]!r}, not deconflict"
    try:
        _parser().parse_args(argv[1:])
    except SystemExit as exc:
        raise AssertionError(f"{where}: `{shlex.join(argv)}` does not parse (exit {exc.code})") from None


def container_instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of a Containerfile, continuation lines joined, comments skipped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        instruction, _, arguments = whole.partition(" ")
        instructions.append((instruction.upper(), arguments.strip()))
    assert not pending, f"{path.name}: ends inside a continued line"
    return instructions


def exec_form(arguments: str) -> list[str]:
    """A ``CMD``/``ENTRYPOINT`` argument list: JSON (exec form) or a shell line."""
    if arguments.startswith("["):
        listed = json.loads(arguments)
        assert isinstance(listed, list) and all(isinstance(a, str) for a in listed)
        return listed
    return shlex.split(arguments)
