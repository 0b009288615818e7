"""``deconflict detect``: JSON and table output, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.geometry.geodesy import WGS84

HEADER = "id,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"
SNAPSHOT = HEADER + (
    "a1,AFR1,48.0,2.0,3000,200,90,0\n"  # head-on with a2, 37 km apart
    "a2,,48.0,2.5,3000,200,270,0\n"
    "a3,BAW2,48.02,2.0,3100,150,90,0\n"  # 2.2 km north of a1, 100 m above: in loss of separation
    "h1,,48.0,2.25,3000,0,0,0\n"  # hovering between a1 and a2
    "g1,,48.0,2.0,0,10,0,0\n"  # on the ground
    "far,,10.0,100.0,3000,200,0,0\n"
)


def run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    path = tmp_path / "states.csv"
    path.write_text(text)
    code = main(["detect", *flags, str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(tmp_path, SNAPSHOT, capsys, "--json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"aircraft", "ignored", "conflicts", "los", "detect_s"}
    assert doc["aircraft"] == 5 and doc["ignored"] == {"ground": 1, "stale": 0}
    pairs = {(c["a"], c["b"]) for c in doc["conflicts"]}
    assert pairs == {("a1", "a2"), ("a1", "a3"), ("a1", "h1"), ("a2", "a3"), ("a2", "h1"), ("a3", "h1")}
    head_on = next(c for c in doc["conflicts"] if (c["a"], c["b"]) == ("a1", "a2"))
    assert set(head_on) == {"a", "b", "tcpa_s", "dcpa_m", "tin_s", "tout_s"}
    _, _, distance_m = WGS84.inv(2.0, 48.0, 2.5, 48.0)
    assert head_on["tcpa_s"] == pytest.approx(distance_m / 400, rel=1e-4)
    assert head_on["tin_s"] == pytest.approx((distance_m - 9260) / 400, rel=1e-4)
    assert doc["los"] == [{"a": "a1", "b": "a3", "dist_m": pytest.approx(2224, abs=2), "dalt_m": 100.0}]
    assert 0.0 <= doc["detect_s"] < 1.0


def test_unbounded_windows_are_null_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hovering = HEADER + "x,,48.0,2.0,3000,0,0,0\ny,,48.0,2.01,3000,0,0,0\n"
    code, out, _ = run(tmp_path, hovering, capsys, "--json")
    conflict = json.loads(out)["conflicts"][0]
    assert code == 1 and conflict["tin_s"] is None and conflict["tout_s"] is None


def test_table_and_no_conflict_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(tmp_path, SNAPSHOT, capsys)
    assert code == 1
    assert "Predicted conflicts" in out and "Loss of separation now" in out and "AFR1" in out
    assert "6 conflict(s) within 300 s and 1 loss(es) of separation among 5 aircraft" in out
    code, out, _ = run(tmp_path, HEADER + "a,,48,2,3000,200,90,0\nb,,49,2,3000,200,90,0\n", capsys)
    assert code == 0 and "0 conflict(s)" in out and "Predicted conflicts" not in out


def test_bad_input_exits_2_with_located_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(tmp_path, HEADER + "a,,48,2,3000,200,90,0\nb,,48,2,x,200,90,0\n", capsys)
    path = tmp_path / "states.csv"
    assert code == 2 and out == ""
    assert err == f"error: {path}: row 3: alt_m: must be a number, got 'x'\n"
    code, _, err = run(tmp_path, HEADER + "a,,48,2,3000,200,90,0\na,,48,2,3000,200,90,0\n", capsys)
    assert code == 2 and err.startswith(f"error: {path}: row 3: id: aircraft 'a' already appears in row 2")
