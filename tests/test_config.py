"""Settings: defaults in one place, read from DECONFLICT_* only when asked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deconflict.channel.gating import GatingSettings
from deconflict.channel.probes import ProbeRules
from deconflict.config import (
    CONFIG_FILE_ENV,
    NOT_SETTINGS,
    Settings,
    load_settings,
    settings_markdown,
    unknown_variables,
)
from deconflict.errors import InputError
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.limits import Limits
from deconflict.units import AltitudeMargins

REPO = Path(__file__).resolve().parents[1]


def test_defaults() -> None:
    settings = load_settings()
    assert settings.db_path == Path("deconflict.db")
    assert settings.buffers() == Buffers(0.0, 0.0, 0.0)
    assert settings.limits() == Limits()
    assert settings.altitude_margins() == AltitudeMargins()
    assert settings.gating() == GatingSettings()  # the settings carry the domain's defaults
    assert settings.probe_rules() == ProbeRules()


def test_environment_is_read_when_loading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DECONFLICT_BUFFER_M", "25")
    monkeypatch.setenv("DECONFLICT_TIME_BUFFER_S", "60")
    monkeypatch.setenv("DECONFLICT_MAX_FILE_BYTES", "1234")
    monkeypatch.setenv("DECONFLICT_GEOID_MAX_M", "30")
    monkeypatch.setenv("DECONFLICT_DB_PATH", str(tmp_path / "x.db"))
    monkeypatch.setenv("DECONFLICT_TRACKS_DISCLOSE_ANYWHERE", '["civil"]')
    settings = load_settings()
    assert settings.gating().disclose_anywhere == frozenset({"civil"})
    assert settings.buffers() == Buffers(buffer_m=25.0, vertical_buffer_m=0.0, time_buffer_s=60.0)
    assert settings.limits().max_file_bytes == 1234
    assert settings.altitude_margins().geoid_max_m == 30.0
    assert settings.db_path == tmp_path / "x.db"


def test_overrides_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECONFLICT_BUFFER_M", "25")
    assert load_settings(buffer_m=5.0).buffer_m == 5.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DECONFLICT_BUFFER_M", "-1"),
        ("DECONFLICT_MAX_FILE_BYTES", "0"),
        ("DECONFLICT_MAX_VERTICES_PER_RING", "3"),
    ],
)
def test_invalid_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as info:
        load_settings()
    (problem,) = info.value.problems
    assert (problem.source, problem.field) == ("environment", name)
    assert problem.message.startswith(f"{value!r} is not valid: input should be greater than")


def test_buffers_and_limits_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Buffers().buffer_m = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Limits().max_file_bytes = 1  # type: ignore[misc]


def test_escalation_ladder_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().escalation_ladder_s == (0.0, 900.0, 3600.0)
    monkeypatch.setenv("DECONFLICT_ESCALATION_LADDER_S", "[0, 300, 1800, 7200]")
    assert load_settings().escalation_ladder_s == (0.0, 300.0, 1800.0, 7200.0)


@pytest.mark.parametrize("ladder", ["[]", "[-5]", "[60, 60]", "[900, 0]"])
def test_a_bad_escalation_ladder_is_refused(monkeypatch: pytest.MonkeyPatch, ladder: str) -> None:
    monkeypatch.setenv("DECONFLICT_ESCALATION_LADDER_S", ladder)
    with pytest.raises(InputError, match="strictly increasing"):
        load_settings()


def test_plausible_altitude_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().limits().max_flight_level == 660.0
    monkeypatch.setenv("DECONFLICT_MAX_FLIGHT_LEVEL", "999")
    monkeypatch.setenv("DECONFLICT_MAX_ALTITUDE_M", "50000")
    limits = load_settings().limits()
    assert (limits.max_flight_level, limits.max_altitude_m) == (999.0, 50000.0)
    assert limits.min_altitude_m == -1000.0


def test_a_bad_value_names_the_variable_the_value_and_what_is_expected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DECONFLICT_TACTICAL_RPZ_M", "5NM")
    monkeypatch.setenv("DECONFLICT_ESCALATION_LADDER_S", "900, 3600")
    with pytest.raises(InputError) as info:
        load_settings()
    assert str(info.value).splitlines() == [
        "environment: DECONFLICT_ESCALATION_LADDER_S: '900, 3600' is not valid: not JSON "
        "(a JSON list, e.g. [0.0, 900.0, 3600.0])",
    ]
    monkeypatch.setenv("DECONFLICT_ESCALATION_LADDER_S", "[0, 900]")
    with pytest.raises(InputError) as info:
        load_settings()
    assert str(info.value) == (
        "environment: DECONFLICT_TACTICAL_RPZ_M: '5NM' is not valid: "
        "input should be a valid number, unable to parse string as a number"
    )


def test_unknown_variables_are_named_with_a_suggestion() -> None:
    environ = {
        "DECONFLICT_BUFER_M": "5",
        "DECONFLICT_BUFFER_M": "5",
        "DECONFLICT_TOKEN": "x",
        "deconflict_db_path": "x.db",
        "HOME": "/root",
    }
    assert unknown_variables(environ) == [
        "DECONFLICT_BUFER_M is not a setting and is ignored "
        "(did you mean DECONFLICT_BUFFER_M? `deconflict settings` lists them)"
    ]


def test_every_deconflict_variable_the_project_uses_is_known() -> None:
    # A new DECONFLICT_* variable that is not a setting belongs in NOT_SETTINGS, with what reads it.
    known = {f"DECONFLICT_{name.upper()}" for name in Settings.model_fields} | set(NOT_SETTINGS)
    files = [REPO / "Makefile", REPO / "README.md", *(REPO / ".ci").iterdir()]
    for folder in ("src", "tests", "benchmarks", "deploy"):
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".md", ".toml", ".sh", "")]
    used: dict[str, Path] = {}
    for path in files:
        deliberate = path.name in ("test_config.py", "test_main.py")  # unknown names on purpose
        if path.is_file() and "egg-info" not in str(path) and not deliberate:
            for name in re.findall(r"DECONFLICT_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text(errors="replace")):
                used.setdefault(name, path)
    assert "DECONFLICT_CLOCK_FILE" in used
    unknown = {name: str(path) for name, path in used.items() if name not in known}
    assert unknown == {}, "a setting belongs in Settings; any other variable in config.NOT_SETTINGS"


def test_a_toml_file_sets_what_the_environment_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "deconflict.toml"
    path.write_text('buffer_m = 25.0\ntime_buffer_s = 60\ndb_path = "c.db"\nescalation_ladder_s = [0, 60]\n')
    settings = load_settings(path)
    assert settings.buffers() == Buffers(25.0, 0.0, 60.0)
    assert (settings.db_path, settings.escalation_ladder_s) == (Path("c.db"), (0.0, 60.0))
    # The environment overrides the file; explicit overrides override both.
    monkeypatch.setenv("DECONFLICT_BUFFER_M", "5")
    assert load_settings(path).buffer_m == 5.0
    assert load_settings(path, time_buffer_s=1.0).time_buffer_s == 1.0
    # DECONFLICT_CONFIG names the file when none is given.
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    assert load_settings().time_buffer_s == 60.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "bufer_m = 5\nmax_file_bytes = 10\n[server]\n",
            [
                "{path}: bufer_m: not a setting (did you mean buffer_m?)",
                "{path}: server: not a setting (`deconflict settings` lists them)",
            ],
        ),
        (
            "buffer_m = -5\n",
            ["{path}: buffer_m: -5 is not valid: input should be greater than or equal to 0"],
        ),
        ("buffer_m = \n", ["{path}: not valid TOML: Invalid value (at line 1, column 12)"]),
    ],
)
def test_a_bad_toml_file_names_the_file_and_key(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "deconflict.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_settings(path)
    assert str(info.value).splitlines() == [line.format(path=path) for line in expected]


def test_a_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nosuch.toml: cannot read the settings file: No such file"):
        load_settings(tmp_path / "nosuch.toml")


def test_the_readme_table_of_settings_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    begin, end = (
        "<!-- settings: generated by `deconflict settings --markdown` -->\n",
        "<!-- end of settings -->",
    )
    assert begin in readme and end in readme
    table = readme.split(begin, 1)[1].split(end, 1)[0]
    assert table == settings_markdown(), "paste `deconflict settings --markdown` between the README's markers"
    assert all(info.strip() for info in table.splitlines())


def test_a_bad_secret_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "deconflict.toml"
    path.write_text("metrics_token = 271828\n")
    with pytest.raises(InputError) as info:
        load_settings(path)
    assert str(info.value) == f"{path}: metrics_token: (hidden) is not valid: input should be a valid string"
