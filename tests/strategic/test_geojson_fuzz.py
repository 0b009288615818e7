"""Parser fuzzing of GeoJSON volumes: mutated but plausible documents get a clear error, nothing else.

Every mutation of a valid collection either still parses or raises
:class:`InputError` whose problems each name the source (and, inside a
feature, the record and the field); through ``deconflict check`` it is exit 2
with ``error: FILE: ...`` lines and no traceback.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.errors import InputError
from deconflict.strategic.geojson import parse_features, read_volumes
from tests.builders import altitude, collection, feature, point, polygon_geometry
from tests.cli.conftest import run_main
from tests.mutations import assert_clear, assert_error_lines, mutated_document

VALID = collection(
    feature("poly", geometry=polygon_geometry([[36.0, 35.0], [36.1, 35.0], [36.1, 35.1], [36.0, 35.0]])),
    feature("circle", geometry=point(36.2, 35.2), radius_m=5000.0, priority=3),
    feature(
        "multi",
        geometry={
            "type": "MultiPolygon",
            "coordinates": [[[[179.9, 0.0], [180.0, 0.0], [180.0, 0.1], [179.9, 0.0]]]],
        },
        altitude_lower=altitude(30, "FL", None),
        altitude_upper={"value": 5000, "units": "ft", "reference": "AGL"},
    ),
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_valid_collection_parses() -> None:
    assert [v.id for v in parse_features(VALID, "request", "blue")] == ["poly", "circle", "multi"]


@FUZZ
@given(mutated_document(VALID))
def test_a_mutated_document_parses_or_names_its_problems(document: Any) -> None:
    try:
        parse_features(document, "request", "blue")
    except InputError as error:
        assert_clear(error, "request", whole_record="Feature")


def _text_of(document: Any, cut: int | None) -> str:
    text = json.dumps(document)  # NaN and Infinity as JavaScript writes them
    return text if cut is None else text[:cut]


@FUZZ
@given(mutated_document(VALID), st.one_of(st.none(), st.integers(min_value=0, max_value=400)))
def test_a_mutated_file_is_exit_2_with_error_lines_through_the_cli(document: Any, cut: int | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blue.geojson"
        path.write_text(_text_of(document, cut), encoding="utf-8")
        try:
            read_volumes(path)
            readable = True
        except InputError as error:
            assert_clear(error, str(path), whole_record="Feature")
            readable = False
        code, _, err = run_main("check", str(path))
    if readable:
        assert code == 0, err  # one party's volumes never conflict with each other
    else:
        assert code == 2
        assert_error_lines(err, path)
    assert "Traceback" not in err


def test_bytes_that_are_not_utf8_or_json_are_named() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, data in [
            ("latin.geojson", '{"type": "FeatureCollection", "features": ["é"]}'.encode("latin-1")),
            ("deep.geojson", b"[" * 100_000 + b"]" * 100_000),
            ("huge.geojson", b'{"type": "FeatureCollection", "features": [' + b"9" * 5000 + b"]}"),
            ("empty.geojson", b""),
        ]:
            path = Path(folder) / name
            path.write_bytes(data)
            code, _, err = run_main("check", str(path))
            assert code == 2, name
            assert err.startswith(f"error: {path}: "), err
