"""The tactical package's public names, and settings defaults that match the domain defaults."""

from __future__ import annotations

import importlib

import pytest

import deconflict.tactical
from deconflict.config import load_settings
from deconflict.tactical import DetectionSettings, GroundFilter
from deconflict.tactical.replay import ReplaySettings
from deconflict.tactical.tracks import PlausibleRanges

MODULES = ["cpa", "detect", "frames", "pruning", "replay", "snapshot", "states", "tracks"]


@pytest.mark.parametrize("module", MODULES)
def test_every_module_declares_all_and_defines_it(module: str) -> None:
    loaded = importlib.import_module(f"deconflict.tactical.{module}")
    assert loaded.__all__, module
    for name in loaded.__all__:
        assert hasattr(loaded, name), f"{module}.{name}"


def test_package_exports() -> None:
    for name in deconflict.tactical.__all__:
        assert getattr(deconflict.tactical, name).__module__.startswith("deconflict.tactical")


def test_settings_defaults_are_the_domain_defaults() -> None:
    settings = load_settings()
    assert (
        DetectionSettings(settings.tactical_rpz_m, settings.tactical_hpz_m, settings.tactical_lookahead_s)
        == DetectionSettings()
    )
    assert GroundFilter(settings.tactical_min_alt_m, settings.tactical_min_gs_mps) == GroundFilter()
    replay = ReplaySettings()
    assert (settings.tactical_stale_s, settings.tactical_max_alt_m, settings.tactical_max_vs_mps) == (
        replay.stale_s,
        replay.max_alt_m,
        replay.max_vs_mps,
    )
    assert (settings.tactical_alt_quantum_m, settings.tactical_alert_gap_s) == (
        replay.alt_quantum_m,
        replay.alert_gap_s,
    )
    assert settings.tactical_max_gs_mps == replay.max_gs_mps
    assert replay.plausible() == PlausibleRanges()


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_detection_settings_refuse_non_positive_or_non_finite_values(bad: float) -> None:
    with pytest.raises(ValueError, match="rpz_m must be a finite number > 0"):
        DetectionSettings(rpz_m=bad)
