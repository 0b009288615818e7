"""The README's `deconflict check` and `detect` examples, run on the bundled data: their output is true.

An example is a ``$ deconflict check|detect ...`` line in a ``text`` block and the lines after
it up to the next ``$`` line; ``...`` stands for any lines, and ``$ echo $?`` with the line
after it for the exit code. Timings are the only numbers allowed to differ.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deconflict.cli import main

REPO = Path(__file__).resolve().parents[2]
_TIMINGS = [
    (re.compile(r"took \d+(\.\d+)? ms"), "took N ms"),
    (re.compile(r'"detect_s": [0-9.e-]+'), '"detect_s": N'),
]
_ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")


@dataclass
class Example:
    line: int
    env: dict[str, str]
    argv: list[str]
    output: list[str] = field(default_factory=list)
    exit_code: int | None = None


def _examples() -> list[Example]:
    examples: list[Example] = []
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    in_text = False
    current: Example | None = None
    skip = False
    for number, line in enumerate(lines, start=1):
        if skip:
            skip = False
        elif line.startswith("```"):
            in_text, current = line == "```text", None
        elif not in_text:
            continue
        elif line == "$ echo $?":
            if current is not None:
                current.exit_code = int(lines[number])  # the next line
            skip = True
        elif line.startswith("$ "):
            words = shlex.split(line[2:].removesuffix("\\"))
            env = dict(w.split("=", 1) for w in words if _ASSIGNMENT.match(w))
            command = [w for w in words if not _ASSIGNMENT.match(w)]
            current = None
            if command[:1] == ["deconflict"] and command[1] in ("check", "detect"):
                current = Example(number, env, command[1:])
                examples.append(current)
        elif current is not None:
            current.output.append(line)
    return examples


def _matches(expected: list[str], actual: list[str]) -> bool:
    if not expected:
        return not actual
    if expected[0].strip() == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and _matches(expected[1:], actual[1:])


def _normal(text: str) -> list[str]:
    for pattern, replacement in _TIMINGS:
        text = pattern.sub(replacement, text)
    return [line.rstrip() for line in text.splitlines()]


EXAMPLES = _examples()


def test_the_readme_has_check_and_detect_examples() -> None:
    assert {e.argv[0] for e in EXAMPLES} == {"check", "detect"}
    assert len(EXAMPLES) >= 5
    assert all(e.output for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"README line {e.line}" for e in EXAMPLES])
def test_a_readme_example_prints_what_the_readme_says(
    example: Example, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    for name, value in example.env.items():
        monkeypatch.setenv(name, value)
    code = main(example.argv)
    captured = capsys.readouterr()
    if example.exit_code is not None:
        assert code == example.exit_code
    expected = _normal("\n".join(example.output))
    actual = _normal(captured.out + captured.err)
    assert _matches(expected, actual), "\n".join(["README says:", *expected, "prints:", *actual])
