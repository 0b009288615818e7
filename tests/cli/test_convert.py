"""``deconflict convert``, and ``check`` and ``ops file`` taking F3548 files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.formats.f3548 import operation_details
from deconflict.strategic.geojson import parse_features

DATA = Path(__file__).resolve().parents[1] / "data"
DSS_REQUEST = DATA / "f3548" / "dss_op_request_1.json"
GOOD = DATA / "good"
KML = "{http://www.opengis.net/kml/2.2}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_f3548_to_geojson_to_f3548_and_kml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    geojson = tmp_path / "dss.geojson"
    code, out, err = run(capsys, "convert", str(DSS_REQUEST), str(geojson), "--party", "uss1")
    assert (code, out) == (0, "")
    assert err == f"{DSS_REQUEST} (f3548) -> {geojson} (geojson): 5 volumes of uss1\n"
    collection = json.loads(geojson.read_text(encoding="utf-8"))
    assert [f["properties"]["id"] for f in collection["features"]] == [
        f"dss_op_request_1/{i}" for i in range(5)
    ]
    assert collection["features"][0]["properties"]["altitude_lower"] == {
        "value": -7.827263749527558,
        "units": "m",
        "reference": "W84",
    }

    code, out, _ = run(capsys, "convert", str(geojson), "-", "--to", "f3548")
    assert code == 0
    details = json.loads(out)
    original = json.loads(DSS_REQUEST.read_text(encoding="utf-8"))["extents"]
    assert [v["volume"]["altitude_upper"] for v in details["volumes"]] == [
        e["volume"]["altitude_upper"] for e in original
    ]
    # The standard's polygons are not closed: the request's closing vertex is gone, the others kept.
    assert (
        details["volumes"][0]["volume"]["outline_polygon"]["vertices"]
        == (original[0]["volume"]["outline_polygon"]["vertices"][:-1])
    )

    kml = tmp_path / "dss.kml"
    assert run(capsys, "convert", str(DSS_REQUEST), str(kml))[0] == 0
    placemarks = ET.parse(kml).getroot().findall(f".//{KML}Placemark")
    assert [p.findtext(f"{KML}name") for p in placemarks] == [f"dss_op_request_1/{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["out.json"],
            "error: command line: --to: cannot tell the format of 'out.json' from its name: give --to",
        ),
        (
            ["out.txt", "--to", "ed269"],
            "error: command line: --to: EUROCAE ED-269 geographical zones (ed269) is not supported yet",
        ),
        (["out.kml", "--from", "ed318"], f"error: {DSS_REQUEST}: features: must be a list, got null"),
        (
            ["out.kml", "--from", "kml"],
            "error: command line: --from: KML 3-D volumes (Google Earth) (kml) is not",
        ),
        (["out.kml", "--to", "svg"], "error: command line: --to: unknown format 'svg'"),
    ],
)
def test_bad_formats_are_named(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "convert", str(DSS_REQUEST), *argv)
    assert (code, out) == (2, "")
    assert err.startswith(message)
    assert not list(tmp_path.iterdir())


def test_a_bad_input_names_file_volume_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(DSS_REQUEST.read_text(encoding="utf-8"))
    document["extents"][1]["volume"]["altitude_lower"]["reference"] = "MSL"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = run(capsys, "convert", str(bad), str(tmp_path / "out.kml"))
    assert (code, out) == (2, "")
    assert err == (
        f'error: {bad}: extents[1]: volume.altitude_lower.reference: reference "MSL" is not allowed: '
        "F3548 altitudes are heights above the WGS 84 ellipsoid (W84)\n"
    )
    assert "Traceback" not in err


def test_check_reads_f3548_beside_geojson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A red plan converted to F3548 conflicts with blue's GeoJSON as the GeoJSON did (W84 widens it)."""
    red = tmp_path / "red.json"
    red_volumes = parse_features(json.loads((GOOD / "red.geojson").read_text(encoding="utf-8")), "red", "red")
    red.write_text(json.dumps(operation_details(red_volumes)), encoding="utf-8")
    code, before, _ = run(capsys, "check", "--json", str(GOOD / "blue.geojson"), str(GOOD / "red.geojson"))
    assert code == 1
    code, after, _ = run(capsys, "check", "--json", str(GOOD / "blue.geojson"), str(red))
    assert code == 1
    pairs = {(c["a"], c["party_b"]) for c in json.loads(before)["conflicts"]}
    assert pairs <= {(c["a"], c["party_b"]) for c in json.loads(after)["conflicts"]}


def test_the_deployments_altitude_margins_widen_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """blue's b-1 is 1,000 to 3,000 m MSL: as W84, widened by the geoid's range of the settings."""
    monkeypatch.setenv("DECONFLICT_GEOID_MIN_M", "20")
    monkeypatch.setenv("DECONFLICT_GEOID_MAX_M", "30")
    code, out, _ = run(capsys, "convert", str(GOOD / "blue.geojson"), "-", "--to", "f3548")
    assert code == 0
    volume = json.loads(out)["volumes"][0]["volume"]
    assert (volume["altitude_lower"]["value"], volume["altitude_upper"]["value"]) == (1020.0, 3030.0)


def test_notam_in_and_out_and_check_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """red as a NOTAM (one operation: circle, flight levels) conflicts with blue as red's GeoJSON did."""
    notam = tmp_path / "red.txt"
    code, out, err = run(
        capsys, "convert", str(GOOD / "red.geojson"), str(notam), "--to", "notam", "--fir", "LCCC"
    )
    assert (code, out) == (0, "")
    assert err == f"{GOOD / 'red.geojson'} (geojson) -> {notam} (notam): 2 volumes of red\n"
    text = notam.read_text(encoding="utf-8")
    assert text.startswith("(A0001/26 NOTAMN\nQ) LCCC/QRTCA/IV/BO/W/")
    code, before, _ = run(capsys, "check", "--json", str(GOOD / "blue.geojson"), str(GOOD / "red.geojson"))
    code, after, _ = run(capsys, "check", "--json", str(GOOD / "blue.geojson"), str(notam))
    assert code == 1
    assert {c["a"] for c in json.loads(before)["conflicts"]} <= {
        c["a"] for c in json.loads(after)["conflicts"]
    }
    geojson = tmp_path / "back.geojson"
    code, _, err = run(capsys, "convert", str(notam), str(geojson), "--party", "red")
    assert code == 0 and "(notam) ->" in err
    features = json.loads(geojson.read_text(encoding="utf-8"))["features"]
    assert features[0]["properties"]["operation"] == "A0001-26"
    real = DATA / "notam" / "ulll_q1491_25_daily.txt"
    code, out, _ = run(capsys, "convert", str(real), "-", "--to", "f3548")
    assert code == 0 and len(json.loads(out)["volumes"]) == 6


def test_a_bad_notam_names_file_notam_and_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(
        (DATA / "notam" / "ulll_q1233_25_circle.txt")
        .read_text(encoding="utf-8")
        .replace("C)2509271400", "C)2509270700"),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "check", str(bad))
    assert (code, out) == (2, "")
    assert err == f"error: {bad}: NOTAM Q1233/25: C): 2509270700 is not after B) 2509270800\n"
    code, _, err = run(capsys, "convert", str(GOOD / "red.geojson"), "-", "--to", "notam", "--fir", "lccc")
    assert code == 2 and "FIR 'lccc' is not a four-letter ICAO location indicator" in err


ZONES = DATA / "zones"


def test_zones_convert_to_restriction_volumes_over_the_horizon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    geojson = tmp_path / "zones.geojson"
    argv = ["convert", str(ZONES / "levant_ed269.json"), str(geojson), "--party", "caa"]
    code, _, err = run(capsys, *argv, "--horizon-start", "2026-01-01T00:00:00Z")
    # LX001 for the 90 days; LX002 on 64 working days; LX003 once; LX004 restricts nothing.
    assert (code, err) == (
        0,
        f"{ZONES / 'levant_ed269.json'} (ed269) -> {geojson} (geojson): 66 volumes of caa\n",
    )
    features = json.loads(geojson.read_text(encoding="utf-8"))["features"]
    props = [f["properties"] for f in features]
    assert {p["operation"] for p in props} == {"LX001", "LX002", "LX003"}
    assert (props[0]["id"], props[0]["time_start"], props[0]["time_end"]) == (
        "LX001/0/0",
        "2026-01-01T00:00:00Z",
        "2026-04-01T00:00:00Z",
    )
    assert (props[1]["time_start"], props[1]["time_end"]) == ("2026-01-01T05:00:00Z", "2026-01-01T13:00:00Z")
    # Read back, the restrictions still meet blue's op-17/v1 and isr-3.
    blue = Path(__file__).resolve().parents[2] / "src" / "deconflict" / "data" / "examples" / "blue.geojson"
    code, out, _ = run(capsys, "check", "--json", str(blue), str(geojson))
    pairs = {(c["a"], c["b"]) for c in json.loads(out)["conflicts"]}
    assert code == 1
    assert {"LX001/0/0", "LX002/0/0"} == {b for _, b in pairs}
    code, _, err = run(capsys, *argv, "--horizon-start", "tomorrow")
    assert (code, err.splitlines()[0]) == (
        2,
        "error: command line: --horizon-start: not an RFC 3339 time 'tomorrow': "
        "Invalid isoformat string: 'tomorrow'",
    )
