"""``deconflict detect``: JSON and table output, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.geometry.geodesy import WGS84
from tests.cli.conftest import run_main

HEADER = "id,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"
SNAPSHOT = "id,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps,on_ground\n" + (
    "a1,AFR1,48.0,2.0,3000,200,90,0,false\n"  # head-on with a2, 37 km apart
    "a2,,48.0,2.5,3000,200,270,0,false\n"
    "a3,BAW2,48.02,2.0,3100,150,90,0,false\n"  # 2.2 km north of a1, 100 m above: in loss of separation
    "h1,,48.0,2.25,3000,0,0,0,false\n"  # hovering between a1 and a2
    "g1,,48.0,2.0,3000,10,0,0,true\n"  # on the ground (at an aerodrome 3000 m high)
    "far,,10.0,100.0,3000,200,0,0,\n"
)


def run(tmp_path: Path, text: str, *flags: str) -> tuple[int, str, str]:
    """``deconflict detect FLAGS`` on ``text`` written to a file in ``tmp_path``."""
    path = tmp_path / "states.csv"
    path.write_text(text)
    return run_main("detect", *flags, str(path))


def test_json_document(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, SNAPSHOT, "--json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"aircraft", "ignored", "min_alt_m", "conflicts", "los", "detect_s"}
    assert doc["aircraft"] == 5 and doc["min_alt_m"] is None
    assert doc["ignored"] == {"stale": 0, "on_ground": 1, "below_min_alt": 0, "too_slow": 0}
    pairs = {(c["a"], c["b"]) for c in doc["conflicts"]}
    assert pairs == {("a1", "a2"), ("a1", "a3"), ("a1", "h1"), ("a2", "a3"), ("a2", "h1"), ("a3", "h1")}
    head_on = next(c for c in doc["conflicts"] if (c["a"], c["b"]) == ("a1", "a2"))
    assert set(head_on) == {"a", "b", "tcpa_s", "dcpa_m", "tin_s", "tout_s", "parallel"}
    assert head_on["parallel"] is False
    _, _, distance_m = WGS84.inv(2.0, 48.0, 2.5, 48.0)
    assert head_on["tcpa_s"] == pytest.approx(distance_m / 400, rel=1e-4)
    assert head_on["tin_s"] == pytest.approx((distance_m - 9260) / 400, rel=1e-4)
    assert doc["los"] == [{"a": "a1", "b": "a3", "dist_m": pytest.approx(2224, abs=2), "dalt_m": 100.0}]
    assert 0.0 <= doc["detect_s"] < 1.0


def test_unbounded_windows_are_null_in_json(tmp_path: Path) -> None:
    hovering = HEADER + "x,,48.0,2.0,3000,0,0,0\ny,,48.0,2.01,3000,0,0,0\n"
    code, out, _ = run(tmp_path, hovering, "--json")
    conflict = json.loads(out)["conflicts"][0]
    assert code == 1 and conflict["tin_s"] is None and conflict["tout_s"] is None


def test_table_and_no_conflict_exit_code(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, SNAPSHOT)
    assert code == 1
    assert "Predicted conflicts" in out and "Loss of separation now" in out and "AFR1" in out
    assert "6 conflict(s) within 300 s and 1 loss(es) of separation among 5 aircraft" in out
    code, out, _ = run(tmp_path, HEADER + "a,,48,2,3000,200,90,0\nb,,49,2,3000,200,90,0\n")
    assert code == 0 and "0 conflict(s)" in out and "Predicted conflicts" not in out


def test_bad_input_exits_2_with_located_messages(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, HEADER + "a,,48,2,3000,200,90,0\nb,,48,2,x,200,90,0\n")
    path = tmp_path / "states.csv"
    assert code == 2 and out == ""
    assert err == f"error: {path}: row 3: alt_m: must be a number, got 'x'\n"
    code, _, err = run(tmp_path, HEADER + "a,,48,2,3000,200,90,0\na,,48,2,3000,200,90,0\n")
    assert code == 2 and err.startswith(f"error: {path}: row 3: id: aircraft 'a' already appears in row 2")


# A helicopter hovering at 3,000 ft and an aircraft climbing at 1,000 ft/min from 500 ft right
# below it: 2,500 ft apart, so below 1,000 ft after (2500 - 1000) / 1000 min = 90 s.
LOW = HEADER + "heli,HELI1,48.0,2.0,914.4,0,0,0\nclimb,CLIMB2,48.0,2.0,152.4,30,90,5.08\n"


def test_a_low_flying_aircraft_is_seen(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, LOW, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["aircraft"] == 2 and sum(doc["ignored"].values()) == 0
    (conflict,) = doc["conflicts"]
    assert (conflict["a"], conflict["b"]) == ("heli", "climb")
    assert conflict["tin_s"] == pytest.approx(90.0, abs=0.01)


def test_ground_status_comes_from_the_on_ground_column(tmp_path: Path) -> None:
    text = (
        "id,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps,on_ground\n"
        "a,48.0,2.0,100,0,0,0,true\n"
        "b,48.0,2.0,100,0,0,0,1\n"
        "c,48.0,2.0,100,0,0,0,True\n"
        "d,48.0,2.0,100,0,0,0,false\n"
        "e,48.0,2.001,100,0,0,0,0\n"
        "f,48.0,2.002,3000,0,0,0,False\n"
    )
    code, out, _ = run(tmp_path, text, "--json")
    doc = json.loads(out)
    assert doc["aircraft"] == 3 and doc["ignored"]["on_ground"] == 3
    assert [(c["a"], c["b"]) for c in doc["conflicts"]] == [("d", "e")] and code == 1
    code, out, _ = run(tmp_path, text)
    assert "among 3 aircraft (3 on the ground left out)" in out

    code, out, err = run(tmp_path, text.replace("0,False", "0,maybe"))
    assert (code, out) == (2, "")
    path = tmp_path / "states.csv"
    assert err == f"error: {path}: row 7: on_ground: must be true or false (or 1/0), got 'maybe'\n"


def test_an_altitude_floor_is_opt_in_and_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(tmp_path, LOW, "--json", "--min-alt-ft", "1000")
    doc = json.loads(out)
    assert code == 0 and doc["aircraft"] == 1 and doc["conflicts"] == []
    assert doc["ignored"]["below_min_alt"] == 1 and doc["min_alt_m"] == pytest.approx(304.8)
    code, out, _ = run(tmp_path, LOW, "--min-alt-ft", "1000")
    out = " ".join(out.split())  # the console wraps long lines
    assert "(1 at or below the 1,000 ft floor left out)" in out
    assert "altitude floor 1,000 ft" in out

    monkeypatch.setenv("DECONFLICT_TACTICAL_MIN_ALT_M", "304.8")
    code, out, _ = run(tmp_path, LOW)
    assert code == 0 and "altitude floor 1,000 ft" in " ".join(out.split())
    code, out, _ = run(tmp_path, LOW, "--min-alt-ft", "400")  # the option wins
    assert code == 1 and "altitude floor 400 ft" in " ".join(out.split())


def test_slow_aircraft_are_counted_when_a_minimum_speed_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DECONFLICT_TACTICAL_MIN_GS_MPS", "10")
    code, out, _ = run(tmp_path, LOW, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ignored"]["too_slow"] == 1 and doc["aircraft"] == 1


def test_implausible_values_are_refused_with_row_field_and_range(tmp_path: Path) -> None:
    text = HEADER + (
        "a,,48.0,2.0,35000,200,90,0\n"  # feet given as metres
        "b,,48.0,2.1,3000,4000,90,0\n"  # faster than anything that flies
        "c,,48.0,2.2,3000,200,90,-250\n"
        "d,,48.0,2.3,-2000,0,0,0\n"
        "e,,48.0,2.4,15999,999,90,99\n"  # fast and high, but possible
    )
    code, out, err = run(tmp_path, text)
    path = tmp_path / "states.csv"
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: {path}: row 2: alt_m: must be within [-1000, 16000] m for an aircraft, got 35000 "
        "(feet given as metres?)",
        f"error: {path}: row 5: alt_m: must be within [-1000, 16000] m for an aircraft, got -2000",
        f"error: {path}: row 3: gs_mps: must be within [0, 1000] m/s for an aircraft, got 4000",
        f"error: {path}: row 4: vs_mps: must be within [-100, 100] m/s for an aircraft, got -250",
    ]


# Side by side 3 km apart, 0.1 m/s apart in speed: in conflict from -87,598 s to 87,598 s.
PARALLEL = HEADER + "p,,48.0,2.0,3000,200,90,0\nq,,48.027,2.0,3000,200.1,90,0\nx,,48.0,3.0,3000,0,0,0\n"
PARALLEL += "y,,48.0,3.01,3000,0,0,0\nz,,48.0,3.3,3000,150,270,0\n"


def test_parallel_pairs_are_said_to_be_parallel(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, PARALLEL, "--json")
    assert code == 1
    flags = {(c["a"], c["b"]): c["parallel"] for c in json.loads(out)["conflicts"]}
    assert flags[("p", "q")] and flags[("x", "y")]
    assert not flags[("x", "z")] and not flags[("y", "z")]  # z closes in on the hovering pair
    _, out, _ = run(tmp_path, PARALLEL)
    conflicts_table = out.split("Loss of separation now")[0]
    rows = {
        line.split("│")[2].strip() + line.split("│")[3].strip(): line
        for line in conflicts_table.splitlines()
        if "│" in line
    }
    assert "87,598" not in out and "parallel" in rows["pq"] and "parallel" in rows["xy"]
    assert "parallel" not in rows["xz"]
    assert "parallel: the pair keeps (nearly) its distance and height difference" in " ".join(out.split())


def test_the_low_flyers_example_of_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parents[2] / "src" / "deconflict" / "data" / "examples" / "low-flyers.csv"
    assert main(["detect", "--json", str(example)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ignored"]["on_ground"] == 1
    assert [(c["a"], c["b"], c["tin_s"]) for c in doc["conflicts"]] == [
        ("heli", "climb", pytest.approx(90.0))
    ]
    assert main(["detect", "--min-alt-ft", "1000", str(example)]) == 0
    assert "(1 on the ground, 1 at or below the 1,000 ft floor left out)" in " ".join(
        capsys.readouterr().out.split()
    )
