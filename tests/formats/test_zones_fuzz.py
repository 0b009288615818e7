"""Fuzzing of the ED-269 and ED-318 readers: mutated documents give zones or a clear error, nothing else."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from deconflict.errors import InputError
from deconflict.formats.ed269 import parse_ed269
from deconflict.formats.ed318 import parse_ed318
from deconflict.strategic.zones import applicable_windows
from tests.mutations import assert_clear, mutated_document

DATA = Path(__file__).parents[1] / "data" / "zones"
ED269 = json.loads((DATA / "levant_ed269.json").read_text(encoding="utf-8"))
DEVIATIONS = json.loads((DATA / "deviations_ed269.json").read_text(encoding="utf-8"))
ED318 = json.loads((DATA / "levant_ed318.json").read_text(encoding="utf-8"))

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sane(zones: list[Any]) -> None:
    """What a reader returns is usable: layers with finite bands, windows in order."""
    for zone in zones:
        assert zone.identifier and zone.layers
        for layer in zone.layers:
            assert math.isfinite(layer.lower.value_m) and math.isfinite(layer.upper.value_m)
            assert layer.footprint.shape.area > 0.0
        windows = applicable_windows(zone.applicability, 1.7e9, 1.7e9 + 30 * 86_400.0)
        assert all(a < b for a, b in windows)


@FUZZ
@given(mutated_document(ED269))
def test_a_mutated_ed269_document_reads_or_names_its_problems(document: Any) -> None:
    try:
        _sane(parse_ed269(document, "zones.json"))
    except InputError as error:
        assert_clear(error, "zones.json", whole_record="UASZoneVersion", records="feature")


@FUZZ
@given(mutated_document(DEVIATIONS))
def test_a_mutated_published_file_reads_or_names_its_problems(document: Any) -> None:
    try:
        _sane(parse_ed269(document, "zones.json"))
    except InputError as error:
        assert_clear(error, "zones.json", whole_record="UASZoneVersion", records="feature")


@FUZZ
@given(mutated_document(ED318))
def test_a_mutated_ed318_document_reads_or_names_its_problems(document: Any) -> None:
    try:
        _sane(parse_ed318(document, "zones.json"))
    except InputError as error:
        assert_clear(error, "zones.json", whole_record="GeoJSON Feature", records="feature")
