"""The format registry: names, detection from content, and files no format can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.errors import InputError
from deconflict.formats import FORMATS, detect_format, format_named, read_plan, write_plan
from deconflict.strategic.limits import Limits

DATA = Path(__file__).parents[1] / "data"
DSS_REQUEST = DATA / "f3548" / "dss_op_request_1.json"


def _problem(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        read_plan(path, **kwargs)  # type: ignore[arg-type]
    [problem] = info.value.problems
    return str(problem)


def test_every_format_of_the_issue_is_named() -> None:
    assert list(FORMATS) == ["geojson", "f3548", "kml", "ed269", "ed318", "notam"]
    assert [f.name for f in FORMATS.values() if f.readable] == ["geojson", "f3548", "ed269", "ed318", "notam"]
    assert [f.name for f in FORMATS.values() if f.writable] == ["geojson", "f3548", "kml", "notam"]


@pytest.mark.parametrize("name", ["ed269", "ed318"])
def test_geographical_zones_are_read_not_written(name: str) -> None:
    assert format_named(name, "a.txt", reading=True).name == name
    with pytest.raises(InputError, match="is not supported yet as an output"):
        format_named(name, "a.txt", reading=False)
    with pytest.raises(InputError, match="not supported yet"):
        write_plan([], name)
    with pytest.raises(InputError, match=r"^a\.json: format: unknown format 'gpx'"):
        format_named("gpx", "a.json", reading=True)


def test_kml_is_written_not_read() -> None:
    with pytest.raises(InputError) as info:
        format_named("kml", "p.kml", reading=True)
    assert str(info.value) == (
        "p.kml: format: KML 3-D volumes (Google Earth) (kml) is not supported yet as an input "
        "(inputs: geojson, f3548, ed269, ed318, notam)"
    )


def test_the_format_is_told_by_the_content() -> None:
    assert detect_format({"type": "FeatureCollection", "features": []}, "x").name == "geojson"
    assert detect_format(json.loads(DSS_REQUEST.read_text(encoding="utf-8")), "x").name == "f3548"
    for document in ({"type": "Feature"}, [], [1, 2], "text", {"name": "zones"}):
        with pytest.raises(InputError, match="not a plan format deconflict reads"):
            detect_format(document, "x")


def test_read_plan_reads_both_and_a_named_format_is_obeyed(tmp_path: Path) -> None:
    assert len(read_plan(DSS_REQUEST)) == 5
    assert {v.party for v in read_plan(DSS_REQUEST, party="uss1")} == {"uss1"}
    assert {v.operation for v in read_plan(DSS_REQUEST, operation="op-3")} == {"op-3"}
    assert len(read_plan(DATA / "good" / "blue.geojson", "geojson")) == 2
    # GeoJSON read as F3548 fails naming what F3548 lacks, not with a traceback.
    assert "no volumes" in _problem(DATA / "good" / "blue.geojson", fmt="f3548")


def test_hostile_files(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (10 * 1024 * 1024 + 1))
    assert _problem(big, limits=Limits(max_file_bytes=10 * 1024 * 1024)) == (
        f"{big}: file is 10485761 bytes, more than the limit of 10485760"
    )
    utf16 = tmp_path / "utf16.json"
    utf16.write_text(DSS_REQUEST.read_text(encoding="utf-8"), encoding="utf-16")
    assert _problem(utf16) == f"{utf16}: not UTF-8 text (byte 0); UTF-16 or UTF-32? save it as UTF-8"
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"extents": "\xe9t\xe9"}')
    assert _problem(latin) == f"{latin}: not UTF-8 text (byte 13)"
    broken = tmp_path / "broken.json"
    broken.write_text('{"extents": [', encoding="utf-8")
    assert _problem(broken).startswith(f"{broken}: not valid JSON at line 1 column 14")
    nan = tmp_path / "nan.json"
    nan.write_text(
        DSS_REQUEST.read_text(encoding="utf-8").replace("-7.827263749527558", "NaN", 1), encoding="utf-8"
    )
    assert (
        _problem(nan) == f"{nan}: extents[0]: volume.altitude_lower.value: must be a finite number, got nan"
    )
    missing = tmp_path / "missing.json"
    assert _problem(missing) == f"{missing}: cannot read file: No such file or directory"
    # A byte-order mark is not an error: editors on Windows write one.
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + DSS_REQUEST.read_bytes())
    assert len(read_plan(bom)) == 5


def test_a_large_f3548_document_is_refused_by_count_not_by_memory(tmp_path: Path) -> None:
    extent = json.loads(DSS_REQUEST.read_text(encoding="utf-8"))["extents"][0]
    path = tmp_path / "many.json"
    path.write_text(json.dumps([extent] * 11), encoding="utf-8")
    assert _problem(path, limits=Limits(max_volumes_per_file=10)) == (
        f"{path}: 11 volumes, more than the limit of 10"
    )


def test_a_10_mb_polygon_is_refused_by_its_vertices(tmp_path: Path) -> None:
    document = json.loads(DSS_REQUEST.read_text(encoding="utf-8"))
    vertices = [{"lat": 32.6 + i * 1e-7, "lng": -117.1} for i in range(300_000)]
    document["extents"][3]["volume"]["outline_polygon"]["vertices"] = vertices
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert path.stat().st_size > 10 * 1024 * 1024
    assert _problem(path) == (
        f"{path}: extents[3]: volume.outline_polygon.vertices: "
        "has 300000 vertices, more than the limit of 10000"
    )


def test_kml_given_as_input_is_named(tmp_path: Path) -> None:
    path = tmp_path / "plan.kml"
    path.write_text('<?xml version="1.0"?><kml/>', encoding="utf-8")
    assert _problem(path) == (
        f"{path}: is XML (KML?), not JSON: "
        "KML is not supported yet as an input (inputs: geojson, f3548, ed269, ed318, notam)"
    )
