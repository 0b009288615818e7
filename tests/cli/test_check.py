"""The `deconflict check` and `demo --plans-only` commands, called through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.geometry.geodesy import area_m2
from tests.builders import altitude, box, collection, feature, point, polygon_geometry, write_geojson
from tests.cli.conftest import run_main

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD = DATA / "good"
BAD = DATA / "bad"


def test_check_without_conflicts_exits_0() -> None:
    code, out, err = run_main("check", str(GOOD / "blue.geojson"), str(GOOD / "civil.geojson"))
    assert code == 0
    assert err == ""
    assert out.strip() == "No conflicts among 4 volumes of 2 parties (blue, civil)."


def test_check_with_conflicts_exits_1_and_prints_a_table() -> None:
    code, out, err = run_main("check", str(GOOD / "blue.geojson"), str(GOOD / "red.geojson"))
    assert code == 1
    assert err == ""
    assert "Strategic conflicts: blue.geojson, red.geojson" in out
    row = next(line for line in out.splitlines() if "b-1" in line)
    for text in ("blue b-1", "red r-1", "2026-01-01 13:00:00 → 14:00:00", "2,000 to 3,000 m MSL", "630.110"):
        assert text in row
    assert out.strip().splitlines()[-1] == (
        "1 conflict among 4 volumes of 2 parties (blue, red), between 1 pair of parties."
    )


def test_check_json_is_one_document_with_hand_computed_values() -> None:
    code, out, err = run_main("check", "--json", str(GOOD / "blue.geojson"), str(GOOD / "red.geojson"))
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert set(document) == {"volumes", "conflicts"}
    assert document["volumes"] == 4
    (conflict,) = document["conflicts"]
    assert set(conflict) >= {
        "a",
        "b",
        "party_a",
        "party_b",
        "time_start",
        "time_end",
        "altitude_lower_m",
        "altitude_upper_m",
        "overlap_area_m2",
        "overlap_bbox",
    }
    area = float(area_m2([box(36.25, 35.25, 36.5, 35.5).shape])[0])
    assert conflict == {
        "a": "b-1",
        "b": "r-1",
        "party_a": "blue",
        "party_b": "red",
        "time_start": "2026-01-01T13:00:00Z",
        "time_end": "2026-01-01T14:00:00Z",
        "altitude_lower_m": 2000.0,
        "altitude_upper_m": 3000.0,
        "altitude_reference": "MSL",
        "overlap_area_m2": round(area, 3),
        "overlap_bbox": [36.25, 35.25, 36.5, 35.5],
    }


def test_check_json_without_conflicts() -> None:
    code, out, _ = run_main("check", "--json", str(GOOD / "civil.geojson"))
    assert code == 0
    assert json.loads(out) == {"volumes": 2, "conflicts": []}


def test_buffer_option_makes_near_volumes_conflict(tmp_path: Path) -> None:
    # b-2 and r-2 are circles of 5 km whose centres are 0.2 degrees (18.2 km) apart: gap 8.2 km.
    files = [str(GOOD / "blue.geojson"), str(GOOD / "red.geojson")]
    code, out, _ = run_main("check", "--json", "--buffer-m", "4000", *files)
    assert [(c["a"], c["b"]) for c in json.loads(out)["conflicts"]] == [("b-1", "r-1")]
    code, out, _ = run_main("check", "--json", "--buffer-m", "4200", *files)
    assert code == 1
    assert sorted((c["a"], c["b"]) for c in json.loads(out)["conflicts"]) == [("b-1", "r-1"), ("b-2", "r-2")]


def test_time_and_vertical_buffer_options(tmp_path: Path) -> None:
    a = write_geojson(tmp_path / "a.geojson", collection(feature("a1", time_end="2026-01-01T13:00:00Z")))
    b = write_geojson(
        tmp_path / "b.geojson",
        collection(
            feature(
                "b1",
                time_start="2026-01-01T13:01:00Z",
                time_end="2026-01-01T14:00:00Z",
                altitude_lower=altitude(1100),
                altitude_upper=altitude(2000),
            )
        ),
    )
    assert run_main("check", str(a), str(b))[0] == 0
    assert run_main("check", "--time-buffer-s", "30.5", str(a), str(b))[0] == 0
    assert run_main("check", "--time-buffer-s", "30.5", "--vertical-buffer-m", "50.5", str(a), str(b))[0] == 1
    _, out, _ = run_main(
        "check", "--json", "--time-buffer-s", "31", "--vertical-buffer-m", "51", str(a), str(b)
    )
    (c,) = json.loads(out)["conflicts"]
    assert (c["time_start"], c["time_end"]) == ("2026-01-01T13:00:29Z", "2026-01-01T13:00:31Z")
    assert (c["altitude_lower_m"], c["altitude_upper_m"]) == (1049.0, 1051.0)


def test_missing_party_defaults_to_the_file_stem(tmp_path: Path) -> None:
    a = write_geojson(tmp_path / "north.geojson", collection(feature("x")))
    b = write_geojson(tmp_path / "south.geojson", collection(feature("x")))
    code, out, _ = run_main("check", "--json", str(a), str(b))
    assert code == 1
    (c,) = json.loads(out)["conflicts"]
    assert {(c["party_a"], c["a"]), (c["party_b"], c["b"])} == {("north", "x"), ("south", "x")}


def test_one_party_in_two_files_does_not_conflict_with_itself(tmp_path: Path) -> None:
    a = write_geojson(tmp_path / "a.geojson", collection(feature("x", party="blue")))
    b = write_geojson(tmp_path / "b.geojson", collection(feature("y", party="blue")))
    assert run_main("check", str(a), str(b))[0] == 0


def test_where_column_of_an_overlap_across_the_antimeridian(tmp_path: Path) -> None:
    ring_a = [[179.0, 0.0], [-179.0, 0.0], [-179.0, 1.0], [179.0, 1.0], [179.0, 0.0]]
    ring_b = [[179.5, 0.0], [-179.5, 0.0], [-179.5, 1.0], [179.5, 1.0], [179.5, 0.0]]
    a = write_geojson(tmp_path / "a.geojson", collection(feature("a", geometry=polygon_geometry(ring_a))))
    b = write_geojson(tmp_path / "b.geojson", collection(feature("b", geometry=polygon_geometry(ring_b))))
    code, out, _ = run_main("check", str(a), str(b))
    assert code == 1
    row = next(line for line in out.splitlines() if " a " in line and " b " in line)
    assert "180.0000, 0.5000" in row


def test_a_long_table_is_capped_and_says_how_many_more_json_has(tmp_path: Path) -> None:
    from deconflict.cli.check import SHOWN_CONFLICTS

    count = SHOWN_CONFLICTS + 7
    blue = write_geojson(tmp_path / "blue.geojson", collection(*(feature(f"b-{i}") for i in range(count))))
    red = write_geojson(tmp_path / "red.geojson", collection(feature("r-0")))
    code, out, _ = run_main("check", str(blue), str(red))
    assert code == 1
    rows = [line for line in out.splitlines() if "red r-0" in line]
    assert len(rows) == SHOWN_CONFLICTS
    assert f"({count - SHOWN_CONFLICTS} more conflicts not shown: --json lists all {count})" in out
    assert out.strip().splitlines()[-1].startswith(f"{count} conflicts among {count + 1} volumes")
    code, out, _ = run_main("check", "--json", str(blue), str(red))
    assert len(json.loads(out)["conflicts"]) == count


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    one = write_geojson(tmp_path / "blue.geojson", collection(feature("b-0")))
    assert run_main("check", str(one))[1].strip() == "No conflicts among 1 volume of 1 party (blue)."
    other = write_geojson(tmp_path / "red.geojson", collection(feature("r-0")))
    assert run_main("check", str(one), str(other))[1].strip().splitlines()[-1] == (
        "1 conflict among 2 volumes of 2 parties (blue, red), between 1 pair of parties."
    )


# --- bad input ---------------------------------------------------------------------


def test_bad_input_exits_2_with_one_line_per_problem() -> None:
    path = BAD / "many_problems.geojson"
    code, out, err = run_main("check", str(path))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 8
    assert all(line.startswith(f"error: {path}: feature ") for line in lines)
    assert lines[0] == (
        f"error: {path}: feature 0 (id v-0): geometry.coordinates[0][2][1]: "
        "latitude 95.0 out of range [-90, 90]; GeoJSON is [lon, lat]: did you swap them?"
    )
    assert (
        f"error: {path}: feature 1 (id v-1): altitude_lower.units: "
        'unknown unit "km" (expected one of m, ft, FL)' in lines
    )
    assert "Traceback" not in err


EXPECTED_ERRORS = {
    "altitude_inverted.geojson": [
        "feature 0 (id inverted): altitude_lower: lower 914.4 m MSL is not below upper 609.6 m MSL",
        "feature 1 (id flat): altitude_lower: lower 3048 m STD is not below upper 3048 m STD",
    ],
    "time_inverted.geojson": [
        "feature 0 (id backwards): time_end: 2026-01-01T12:00:00Z is not after time_start "
        "2026-01-01T13:00:00Z",
        "feature 1 (id instant): time_end: 2026-01-01T14:00:00+02:00 is not after time_start "
        "2026-01-01T12:00:00Z",
    ],
    "out_of_range.geojson": [
        "feature 0 (id north): geometry.coordinates[1]: latitude 90.5 out of range [-90, 90]; "
        "GeoJSON is [lon, lat]: did you swap them?",
        "feature 1 (id east): geometry.coordinates[0][1][0]: longitude 181.0 out of range [-180, 180]",
    ],
    "implausible_altitudes.geojson": [
        "feature 0 (id fl-25000): altitude_upper.value: FL 25000 is not a flight level in use "
        "(plausible: FL 0 to FL 660)",
        "feature 1 (id metres-for-feet): altitude_upper.value: 350000 m is not a plausible altitude "
        "(plausible: -1000 m to 100000 m)",
    ],
    "radius.geojson": [
        "feature 0 (id zero): radius_m: must be positive, got 0.0",
        "feature 1 (id negative): radius_m: must be positive, got -100.0",
        "feature 2 (id missing): radius_m: missing: a Point footprint is a circle and needs radius_m",
    ],
    "units_and_references.geojson": [
        'feature 0 (id km): altitude_lower.units: unknown unit "km" (expected one of m, ft, FL)',
        'feature 1 (id qnh): altitude_upper.reference: unknown reference "QNH" '
        "(expected one of W84, MSL, AGL)",
        "feature 2 (id fl-msl): altitude_upper.reference: flight levels are pressure altitudes; "
        'got reference "MSL"',
    ],
    "missing_fields.geojson": [
        "feature 0 (id no-times): time_start: missing (an RFC 3339 time such as 2026-01-01T12:00:00Z)",
        "feature 0 (id no-times): time_end: missing (an RFC 3339 time such as 2026-01-01T12:00:00Z)",
        'feature 1 (id no-altitudes): altitude_lower: missing (e.g. {"value": 3000, "units": "ft", '
        '"reference": "MSL"})',
        'feature 1 (id no-altitudes): altitude_upper: missing (e.g. {"value": 3000, "units": "ft", '
        '"reference": "MSL"})',
        "feature 2 (id no-geometry): geometry: missing or not an object "
        "(one of Polygon, MultiPolygon, Point)",
    ],
    "duplicate_ids.geojson": [
        "feature 2 (id twice): id: duplicate id 'twice' of party 'blue' (also feature 0)",
    ],
    "unclosed_ring.geojson": [
        "feature 0 (id open-1): geometry.coordinates[0]: ring is not closed: first position [36.0, 35.0] "
        "differs from last [36.0, 35.1]",
    ],
    "self_intersection.geojson": [
        "feature 0 (id bow-tie): geometry: invalid polygon: Self-intersection[36.05 35.05]",
    ],
    "nan_infinity.geojson": [
        "feature 0 (id c-1): geometry.coordinates[0]: must be a finite number, got inf",
        "feature 0 (id c-1): radius_m: must be a finite number, got -inf",
        "feature 0 (id c-1): altitude_lower.value: must be a finite number, got nan",
    ],
    "broken.geojson": [
        "not valid JSON at line 2 column 57: Expecting property name enclosed in double quotes"
    ],
}


def test_every_bad_data_file_has_its_expected_errors() -> None:
    assert set(EXPECTED_ERRORS) | {"many_problems.geojson"} == {p.name for p in BAD.glob("*.geojson")}


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_bad_file_errors_exactly(name: str) -> None:
    path = BAD / name
    code, out, err = run_main("check", str(path), str(GOOD / "blue.geojson"))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"error: {path}: {line}" for line in EXPECTED_ERRORS[name]]


def test_problems_of_every_file_are_reported_together() -> None:
    code, _, err = run_main(
        "check",
        str(BAD / "unclosed_ring.geojson"),
        str(GOOD / "blue.geojson"),
        str(BAD / "broken.geojson"),
    )
    assert code == 2
    assert [line.split(": ")[1] for line in err.splitlines()] == [
        str(BAD / "unclosed_ring.geojson"),
        str(BAD / "broken.geojson"),
    ]


def test_missing_file(tmp_path: Path) -> None:
    code, out, err = run_main("check", str(tmp_path / "nope.geojson"))
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path / 'nope.geojson'}: cannot read file: No such file or directory\n"


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    a = write_geojson(tmp_path / "a.geojson", collection(feature("x", party="blue")))
    b = write_geojson(
        tmp_path / "b.geojson", collection(feature("y", party="blue"), feature("x", party="blue"))
    )
    code, _, err = run_main("check", str(a), str(b))
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(f"error: {b}: ")
    assert line.endswith(f"id: duplicate id 'x' of party 'blue' (also in {a})")


def test_duplicate_ids_across_files_name_the_feature(tmp_path: Path) -> None:
    a = write_geojson(tmp_path / "a.geojson", collection(feature("x", party="blue")))
    b = write_geojson(
        tmp_path / "b.geojson", collection(feature("y", party="blue"), feature("x", party="blue"))
    )
    _, _, err = run_main("check", str(a), str(b))
    assert err.startswith(f"error: {b}: feature 1 (id x): id: ")


def test_limits_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_geojson(tmp_path / "plans.geojson", collection(feature("a"), feature("b")))
    size = path.stat().st_size
    monkeypatch.setenv("DECONFLICT_MAX_FILE_BYTES", str(size - 1))
    code, _, err = run_main("check", str(path))
    assert code == 2
    assert err == f"error: {path}: file is {size} bytes, more than the limit of {size - 1}\n"
    monkeypatch.setenv("DECONFLICT_MAX_FILE_BYTES", str(size))
    monkeypatch.setenv("DECONFLICT_MAX_VOLUMES_PER_FILE", "1")
    code, _, err = run_main("check", str(path))
    assert (code, err) == (2, f"error: {path}: features: 2 features, more than the limit of 1\n")
    monkeypatch.setenv("DECONFLICT_MAX_VOLUMES_PER_FILE", "2")
    monkeypatch.setenv("DECONFLICT_MAX_VERTICES_PER_RING", "4")
    code, _, err = run_main("check", str(path))
    assert code == 2
    limit = "geometry.coordinates[0]: has 5 positions, more than the limit of 4"
    assert err.splitlines() == [
        f"error: {path}: feature 0 (id a): {limit}",
        f"error: {path}: feature 1 (id b): {limit}",
    ]


def test_altitude_margins_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_geojson(
        tmp_path / "a.geojson",
        collection(
            feature("a", altitude_upper=altitude(150, "m", "AGL"), altitude_lower=altitude(0, "m", "AGL"))
        ),
    )
    b = write_geojson(
        tmp_path / "b.geojson",
        collection(feature("b", altitude_lower=altitude(4000), altitude_upper=altitude(5000))),
    )
    assert run_main("check", str(a), str(b))[0] == 1
    monkeypatch.setenv("DECONFLICT_TERRAIN_MAX_M", "3000")
    assert run_main("check", str(a), str(b))[0] == 0


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "ten"])
def test_bad_buffer_values_are_usage_errors(value: str) -> None:
    code, out, err = run_main("check", "--buffer-m", value, str(GOOD / "blue.geojson"))
    assert (code, out) == (2, "")
    assert "--buffer-m" in err and "Traceback" not in err


def test_usage_errors_exit_2() -> None:
    assert run_main("check")[0] == 2
    assert run_main("frobnicate")[0] == 2
    assert run_main()[0] == 2


def test_help_and_version_exit_0() -> None:
    code, out, _ = run_main("check", "--help")
    assert code == 0 and "--buffer-m" in out
    code, out, _ = run_main("--version")
    assert code == 0 and out.strip() == "deconflict 0.1.0"


def test_huge_number_is_bad_input_not_a_crash(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "a.geojson", collection(feature("a", geometry=point(36.0, 35.0), radius_m=10**400))
    )
    code, _, err = run_main("check", str(path))
    assert code == 2 and "radius_m" in err


# --- demo -------------------------------------------------------------------------------


def test_demo_plans_only_exits_0_and_prints_conflicts() -> None:
    code, out, err = run_main("demo", "--plans-only")
    assert (code, err) == (0, "")
    assert out.startswith("deconflict demo: strategic check of the bundled plans")
    for text in ("blue isr-3", "red r-102", "civil airway-UL620", "blue op-17/v1", "red r-101"):
        assert text in out
    assert "4 conflicts among 8 volumes of 3 parties (blue, civil, red), between 2 pairs of parties." in out


def test_demo_plans_only_json() -> None:
    code, out, _ = run_main("demo", "--plans-only", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["volumes"] == 8
    assert sorted((c["a"], c["b"]) for c in document["conflicts"]) == [
        ("airway-UL620", "r-102"),
        ("isr-3", "r-102"),
        ("op-17/v1", "r-101"),
        ("op-17/v2", "r-101"),
    ]


def test_ctrl_c_says_what_was_done_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("deconflict.cli.check.find_conflicts", interrupted)
    code, out, err = run_main("check", str(GOOD / "blue.geojson"), str(GOOD / "red.geojson"))
    assert (code, out) == (130, "")
    assert err == "check: interrupted (Ctrl-C) while looking for conflicts among 4 volumes; no result\n"
    monkeypatch.setattr("deconflict.cli.check.read_plan_or_zones", interrupted)
    code, out, err = run_main("check", str(GOOD / "blue.geojson"))
    assert (code, out) == (130, "")
    assert err == (
        f"check: interrupted (Ctrl-C) while reading {GOOD / 'blue.geojson'} (0 of 1 files read); "
        "nothing was checked\n"
    )


EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "deconflict" / "data" / "examples"
ZONES = DATA / "zones"


def test_zone_files_are_told_by_content_and_restrictions_entered_are_listed() -> None:
    code, out, err = run_main(
        "check",
        str(EXAMPLES / "blue.geojson"),
        str(ZONES / "levant_ed269.json"),
        "--zones",
        str(ZONES / "levant_ed318.json"),
    )
    assert (code, err) == (1, "")
    lines = out.strip().splitlines()
    assert lines[0] == "No conflicts among 4 volumes of 1 party (blue)."
    assert "Restrictions entered" in out
    # LX001 (prohibited) of both files over op-17/v1; LX002 (working days, +03:00) over isr-3.
    assert lines[-1] == "4 restrictions entered, in 4 of 6 zones."
    for text in (
        "blue op-17/v1",
        "levant_ed269 LX001",
        "prohibited",
        "SENSITIVE;",
        "uas@caa.example",
    ):
        assert text in out


def test_zone_conflicts_in_json_carry_the_zone_as_published() -> None:
    code, out, _ = run_main(
        "check", "--json", str(EXAMPLES / "blue.geojson"), "--zones", str(ZONES / "levant_ed269.json")
    )
    assert code == 1
    document = json.loads(out)
    assert (document["volumes"], document["zones"], document["conflicts"]) == (4, 4, [])
    entered = document["zone_conflicts"]
    assert [(z["a"], z["b"], z["zone"]["restriction"]) for z in entered] == [
        ("isr-3", "LX002/0/0", "req_authorisation"),
        ("op-17/v1", "LX001/0/0", "prohibited"),
    ]
    # LX002 applies 05:00-13:00 UTC on a Thursday; isr-3 flies 10:00-18:00.
    assert (entered[0]["time_start"], entered[0]["time_end"]) == (
        "2026-01-01T10:00:00Z",
        "2026-01-01T13:00:00Z",
    )
    zone = entered[1]["zone"]
    assert zone["name"] == "Eastern plain air defence site"
    assert zone["message"] == "No UAS flights: air defence activity"
    assert zone["authorities"][0]["phone"] == "+000 555 0100"


def test_no_restriction_entered_exits_0(tmp_path: Path) -> None:
    # In the festival zone (LX003) the day before it applies, and in the information zone (LX004).
    festival = polygon_geometry([[37.1, 36.1], [37.2, 36.1], [37.2, 36.2], [37.1, 36.1]])
    plan = write_geojson(
        tmp_path / "early.geojson", collection(feature("v1", party="blue", geometry=festival))
    )
    code, out, _ = run_main("check", str(plan), "--zones", str(ZONES / "levant_ed269.json"))
    assert code == 0
    assert out.strip().splitlines()[-1] == "No restriction entered among 4 zones."


def test_a_plan_given_as_zones_and_bad_zones_are_refused(tmp_path: Path) -> None:
    code, _, err = run_main("check", str(EXAMPLES / "blue.geojson"), "--zones", str(EXAMPLES / "red.geojson"))
    assert code == 2
    assert "red.geojson: not a geographical zone file" in err
    bad = tmp_path / "bad-zones.json"
    document = json.loads((ZONES / "levant_ed269.json").read_text(encoding="utf-8"))
    document["features"][1]["geometry"][0]["upperLimit"] = None
    document["features"][1]["geometry"][0]["lowerLimit"] = "ground"
    bad.write_text(json.dumps(document), encoding="utf-8")
    code, _, err = run_main("check", str(EXAMPLES / "blue.geojson"), str(bad))
    assert code == 2
    assert err == f'error: {bad}: feature 1 (LX002): geometry[0].lowerLimit: must be a number, got "ground"\n'
