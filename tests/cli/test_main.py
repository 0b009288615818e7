"""The command table: every subcommand the parser knows runs a function that exists."""

from __future__ import annotations

import argparse
import importlib

import pytest

from deconflict.cli import _COMMANDS, _parser, main


def _subcommands() -> set[str]:
    parser = _parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_every_subcommand_has_a_runner() -> None:
    assert _subcommands() == set(_COMMANDS)
    for module_name, function_name in _COMMANDS.values():
        module = importlib.import_module(f"deconflict.cli.{module_name}")
        assert callable(getattr(module, function_name))


def test_usage_errors_exit_2_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out
