"""Settings: defaults in one place, read from DECONFLICT_* only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deconflict.config import Buffers, Limits, load_settings
from deconflict.units import AltitudeMargins


def test_defaults() -> None:
    settings = load_settings()
    assert settings.db_path == Path("deconflict.db")
    assert settings.buffers() == Buffers(0.0, 0.0, 0.0)
    assert settings.limits() == Limits()
    assert settings.altitude_margins() == AltitudeMargins()


def test_environment_is_read_when_loading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DECONFLICT_BUFFER_M", "25")
    monkeypatch.setenv("DECONFLICT_TIME_BUFFER_S", "60")
    monkeypatch.setenv("DECONFLICT_MAX_FILE_BYTES", "1234")
    monkeypatch.setenv("DECONFLICT_GEOID_MAX_M", "30")
    monkeypatch.setenv("DECONFLICT_DB_PATH", str(tmp_path / "x.db"))
    settings = load_settings()
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
    with pytest.raises(ValidationError):
        load_settings()


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
    with pytest.raises(ValidationError, match="strictly increasing"):
        load_settings()


def test_plausible_altitude_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().limits().max_flight_level == 660.0
    monkeypatch.setenv("DECONFLICT_MAX_FLIGHT_LEVEL", "999")
    monkeypatch.setenv("DECONFLICT_MAX_ALTITUDE_M", "50000")
    limits = load_settings().limits()
    assert (limits.max_flight_level, limits.max_altitude_m) == (999.0, 50000.0)
    assert limits.min_altitude_m == -1000.0
