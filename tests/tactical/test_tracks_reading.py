"""Reading track CSV files: formats accepted and errors that name file, row and field."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from deconflict.errors import InputError
from deconflict.tactical import GroundFilter
from deconflict.tactical.snapshot import take_snapshot
from deconflict.tactical.tracks import ALT_JUMP_TOLERANCE_M, altitude_jumps, read_tracks

HEADER = "time_s,icao24,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def messages(path: Path, **kwargs: bool) -> list[str]:
    with pytest.raises(InputError) as caught:
        read_tracks(path, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_reads_gzip_with_icao24_and_keeps_ids_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "10,0101de,AFR1,48.5,2.5,3000,200,90,-1.5\n", "t.csv.gz")
    tracks = read_tracks(path, require_time=True)
    assert tracks.ids.tolist() == ["0101de"] and tracks.callsigns.tolist() == ["AFR1"]
    assert tracks.time_s is not None and tracks.time_s.tolist() == [10.0]
    assert tracks.states.vs_mps.tolist() == [-1.5] and tracks.row.tolist() == [2]


def test_columns_in_any_order_id_column_and_no_time(tmp_path: Path) -> None:
    path = write(
        tmp_path, "vs_mps,trk_deg,gs_mps,alt_m,lon_deg,lat_deg,id,extra\n0,90,200,3000,2.5,48.5,a,x\n"
    )
    tracks = read_tracks(path)
    assert tracks.time_s is None and tracks.ids.tolist() == ["a"] and tracks.callsigns.tolist() == [""]
    assert tracks.states.lat_deg.tolist() == [48.5]


def test_bad_values_are_reported_with_file_row_and_field(tmp_path: Path) -> None:
    text = HEADER + "\n".join(
        [
            "1,a,,48,2,3000,200,90,0",
            "1,b,,95,2,3000,200,90,0",
            "1,c,,48,2,high,200,90,0",
            "1,d,,48,2,3000,-1,90,0",
            "1,e,,48,2,3000,200,400,0",
            "1,,,48,2,3000,200,90,0",
            "1,g,,48,2,3000,200,90",
            "1,h,,48,2,nan,200,90,0",
        ]
    )
    path = write(tmp_path, text + "\n")
    assert messages(path) == [
        f"{path}: row 8: expected 9 fields as in the header, got 8",
        f"{path}: row 3: lat_deg: must be within [-90, 90], got 95",
        f"{path}: row 4: alt_m: must be a number, got 'high'",
        f"{path}: row 9: alt_m: must be a finite number, got 'nan'",
        f"{path}: row 5: gs_mps: must be >= 0, got -1",
        f"{path}: row 6: trk_deg: must be within [0, 360], got 400",
        f"{path}: row 7: icao24: must not be empty",
    ]


def test_missing_columns_empty_and_unreadable_files(tmp_path: Path) -> None:
    assert messages(write(tmp_path, "id,lat_deg\n")) == [
        f"{tmp_path / 't.csv'}: row 1: header: missing column(s) lon_deg, alt_m, gs_mps, trk_deg, vs_mps"
    ]
    no_id = write(tmp_path, "lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n", "n.csv")
    assert "missing column(s) id (or icao24)" in messages(no_id)[0]
    no_time = write(tmp_path, "id,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n", "m.csv")
    assert "missing column(s) time_s" in messages(no_time, require_time=True)[0]
    assert "the file is empty" in messages(write(tmp_path, "", "e.csv"))[0]
    assert "cannot read the file" in messages(tmp_path / "absent.csv")[0]
    not_gzip = tmp_path / "x.csv.gz"
    not_gzip.write_text(HEADER)
    assert "cannot read the file" in messages(not_gzip)[0]


def test_snapshot_dead_reckons_to_the_latest_time_and_leaves_out_stale_and_ground(tmp_path: Path) -> None:
    text = HEADER.replace("\n", ",on_ground\n") + (
        "100,a,A,0,0,3000,100,90,1,0\n90,b,,0,1,3000,0,0,0,\n40,c,,0,2,3000,0,0,0,1\n"
        "100,d,,0,3,0,0,0,0,TRUE\n100,e,,0,4,10,0,0,0,false\n"
    )
    snap = take_snapshot(
        read_tracks(write(tmp_path, text)), stale_s=30.0, ground=GroundFilter(min_alt_m=20.0)
    )
    assert snap.ids.tolist() == ["a", "b"]
    assert snap.left_out == {"stale": 1, "on_ground": 1, "below_min_alt": 1, "too_slow": 0}
    assert snap.time_s == 100.0
    assert snap.states.alt_m.tolist() == [3000.0, 3000.0]
    assert np.allclose(snap.states.lon_deg, [0.0, 1.0])


def test_on_ground_flags_are_read_and_optional(tmp_path: Path) -> None:
    text = HEADER.replace("\n", ",on_ground\n") + "".join(
        f"1,{k},,0,0,0,0,0,0,{flag}\n" for k, flag in enumerate(["true", "False", "1", "0", " TRUE ", ""])
    )
    assert read_tracks(write(tmp_path, text)).on_ground.tolist() == [True, False, True, False, True, False]
    assert read_tracks(write(tmp_path, HEADER + "1,a,,0,0,0,0,0,0\n", "n.csv")).on_ground is None
    bad = write(tmp_path, HEADER.replace("\n", ",on_ground\n") + "1,a,,0,0,0,0,0,0,yes\n", "b.csv")
    assert messages(bad) == [f"{bad}: row 2: on_ground: must be true or false (or 1/0), got 'yes'"]


def test_snapshot_rejects_an_aircraft_twice(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1,a,,0,0,3000,0,0,0\n2,a,,0,0,3000,0,0,0\n")
    with pytest.raises(InputError, match=r"row 3: id: aircraft 'a' already appears in row 2"):
        take_snapshot(read_tracks(path), 30.0, GroundFilter())


def test_an_altitude_jump_is_measured_from_the_dead_reckoned_previous_altitude() -> None:
    # 1 s on, climbing 10 m/s: expected 3010 m; allowed off by 100 m/s * 1 s + 150 m.
    assert not altitude_jumps(3010.0 + 250.0, 3000.0, 10.0, 1.0, 100.0)
    assert altitude_jumps(3010.0 + 250.5, 3000.0, 10.0, 1.0, 100.0)
    assert altitude_jumps(3010.0 - 250.5, 3000.0, 10.0, 1.0, 100.0)
    assert not altitude_jumps(3000.0 + 10.0 * 30.0 + 3150.0, 3000.0, 10.0, 30.0, 100.0)
    assert ALT_JUMP_TOLERANCE_M == 150.0
