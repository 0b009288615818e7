"""The command table: every subcommand the parser knows runs a function that exists."""

from __future__ import annotations

import argparse
import importlib
import json
import os
from pathlib import Path

import pytest

from deconflict.cli import _COMMANDS, _parser, main
from deconflict.config import Settings, settings_markdown


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


# One argument list per command, enough to parse; with a bad setting none of them may run.
_ANY_COMMAND = {
    "check": ["check", "x.geojson"],
    "convert": ["convert", "x.json", "x.kml"],
    "detect": ["detect", "x.csv"],
    "replay": ["replay", "x.csv"],
    "demo": ["demo", "--plans-only"],
    "party": ["party", "list", "--db", "x.db"],
    "msg": ["msg", "inbox", "--url", "http://127.0.0.1:9", "--token", "t"],
    "ops": ["ops", "list", "--url", "http://127.0.0.1:9", "--token", "t"],
    "conflicts": ["conflicts", "list", "--url", "http://127.0.0.1:9", "--token", "t"],
    "disclosures": ["disclosures", "list", "--url", "http://127.0.0.1:9", "--token", "t"],
    "zones": ["zones", "list", "--url", "http://127.0.0.1:9", "--token", "t"],
    "blind": ["blind", "status", "s-1", "--url", "http://127.0.0.1:9", "--token", "t"],
    "db": ["db", "backup", "x.backup", "--db", "x.db"],
    "audit": ["audit", "verify", "--db", "x.db"],
    "serve": ["serve", "--db", "x.db", "--port", "0"],
    "feed": ["feed", "x.csv", "--url", "http://127.0.0.1:9", "--token", "t"],
    "stats": ["stats", "--url", "http://127.0.0.1:9", "--token", "t"],
    "settings": ["settings"],
}


def test_the_list_of_commands_is_complete() -> None:
    assert set(_ANY_COMMAND) == set(_COMMANDS)


@pytest.mark.parametrize("command", sorted(_ANY_COMMAND))
def test_a_bad_setting_is_one_line_and_exit_2_for_every_command(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DECONFLICT_MAX_FILE_BYTES", "64MB")
    assert main(_ANY_COMMAND[command]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "error: environment: DECONFLICT_MAX_FILE_BYTES: '64MB' is not valid: "
        "input should be a valid integer, unable to parse string as an integer\n"
    )
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # nothing ran


def test_an_unknown_variable_is_warned_about_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DECONFLICT_BUFFERM", "5")
    monkeypatch.setenv("DECONFLICT_TOKEN", "not a setting, but known")
    assert main(["settings", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "warning: DECONFLICT_BUFFERM is not a setting and is ignored "
        "(did you mean DECONFLICT_BUFFER_M? `deconflict settings` lists them)\n"
    )
    assert json.loads(captured.out)["buffer_m"] == 0.0


def test_config_file_option(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DECONFLICT_CONFIG", raising=False)
    path = tmp_path / "deconflict.toml"
    path.write_text("max_flight_level = 999\ntime_buffer_s = 30\n")
    monkeypatch.setenv("DECONFLICT_TIME_BUFFER_S", "45")
    assert main(["--config", str(path), "settings", "--json"]) == 0
    current = json.loads(capsys.readouterr().out)
    assert (current["max_flight_level"], current["time_buffer_s"]) == (999.0, 45.0)
    assert "DECONFLICT_CONFIG" not in os.environ  # only for that command
    path.write_text("max_flight_levle = 999\n")
    assert main(["--config", str(path), "settings"]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: max_flight_levle: not a setting (did you mean max_flight_level?)\n"
    )


def test_settings_lists_every_setting_with_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DECONFLICT_TACTICAL_LOOKAHEAD_S", "120")
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "DECONFLICT_TACTICAL_LOOKAHEAD_S" in line)
    assert "120.0 *" in row and "300.0" in row
    assert all(f"DECONFLICT_{name.upper()}" in out for name in Settings.model_fields)
    assert main(["settings", "--markdown"]) == 0
    assert capsys.readouterr().out == settings_markdown()


def test_ctrl_c_is_exit_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("deconflict.cli.settings.run_settings", interrupted)
    assert main(["settings"]) == 130
    assert capsys.readouterr().err == "deconflict settings: interrupted (Ctrl-C)\n"


def test_positions_are_written_lon_lat_everywhere() -> None:
    # GeoJSON's order is the product's: `check` and `replay` must not disagree.
    cli = Path(importlib.import_module("deconflict.cli").__file__ or "").parent
    said = {p.name: p.read_text(encoding="utf-8") for p in cli.glob("*.py")}
    assert [name for name, text in said.items() if "(lat, lon)" in text or "lat_deg:.4f}, {" in text] == []
    assert "(lon, lat)" in said["check.py"] and "(lon, lat)" in said["replay.py"]
