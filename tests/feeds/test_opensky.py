"""OpenSky state vectors: REST responses and state_vectors_data4 extracts, good and hostile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deconflict.errors import InputError
from deconflict.feeds import detect_format, read_feed, read_opensky
from tests.feeds.derived import opensky_history_csv, opensky_rest, real_tracks

STATE = [
    "4ca2d6",
    "EIN52V  ",
    "Ireland",
    1714564800,
    1714564801,
    2.25,
    48.5,
    10668.0,
    False,
    231.5,
    90.0,
    -3.25,
    None,
    10900.0,
    "1234",
    False,
    0,
]


def test_rest_and_history_give_back_the_real_trajectories(tmp_path: Path) -> None:
    tracks = real_tracks()
    rest, history = tmp_path / "states.json", tmp_path / "sv.csv"
    rest.write_text(opensky_rest(tracks))
    history.write_text(opensky_history_csv(tracks))
    for path in (rest, history):
        assert detect_format(path) == "opensky"
        reading = read_feed(path)
        got = reading.tracks
        assert reading.drops.total == 0 and len(got) == len(tracks)
        order = np.lexsort((got.ids, got.time_s))
        expected = np.lexsort((tracks.ids, tracks.time_s))
        assert got.ids[order].tolist() == tracks.ids[expected].tolist()
        assert np.allclose(got.states.alt_m[order], tracks.states.alt_m[expected])
        assert np.allclose(got.states.lat_deg[order], tracks.states.lat_deg[expected])


def test_rest_row_fields_units_and_altitude_choice(tmp_path: Path) -> None:
    no_baro = [*STATE[:7], None, True, *STATE[9:]]
    bad = [*STATE[:6], 95.0, *STATE[7:]]
    missing = [*STATE[:9], None, *STATE[10:]]
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps({"time": 1714564801, "states": [STATE, no_baro, bad, missing, STATE[:5], "x"]})
    )
    reading = read_opensky(path)
    t = reading.tracks
    assert dict(reading.drops.counts) == {"out_of_range": 1, "no_velocity": 1, "truncated": 2}
    assert t.row.tolist() == [1, 2] and t.callsigns.tolist() == ["EIN52V", "EIN52V"]
    assert t.states.alt_m.tolist() == [10668.0, 10900.0]  # barometric; geometric only when it is missing
    assert t.on_ground is not None and t.on_ground.tolist() == [False, True]
    assert t.time_s is not None and t.time_s.tolist() == [1714564800.0] * 2


def test_history_csv_drops_repeats_and_bad_values(tmp_path: Path) -> None:
    header = "time,icao24,lat,lon,velocity,heading,vertrate,callsign,onground,"
    header += "baroaltitude,geoaltitude,lastposupdate"
    rows = [
        "100,abc123,48.5,2.25,200,90,0,AFR1,false,3000,3100,99.5",
        "101,abc123,48.5,2.25,200,90,0,AFR1,false,3000,3100,99.5",  # the same position carried forward
        "102,abc123,48.6,2.25,abc,90,0,AFR1,false,3000,3100,101.9",
        "103,abc123,48.6,2.25,200,90,NULL,AFR1,true,,,102.9",
        "104,abc123,48.6",
    ]
    path = tmp_path / "sv.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    reading = read_feed(path)
    assert dict(reading.drops.counts) == {"repeated": 1, "bad_number": 1, "no_altitude": 1, "truncated": 1}
    assert reading.tracks.row.tolist() == [2]
    assert reading.drops.examples[1].field == "velocity" and reading.drops.examples[1].record == "row 4"


def test_a_history_csv_without_the_needed_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sv.csv"
    path.write_text("time,icao24,lat,lon,baroaltitude\n1,a,1,1,1\n")
    with pytest.raises(InputError, match="missing column"):
        read_feed(path, "opensky")


def test_a_parquet_history_extract_reads_as_its_csv(tmp_path: Path) -> None:
    import csv
    import io
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    tracks = real_tracks()
    text = opensky_history_csv(tracks)
    rows = list(csv.DictReader(io.StringIO(text)))
    numbers = ("lat", "lon", "velocity", "heading", "vertrate", "baroaltitude", "geoaltitude")

    def column(name: str) -> list[object]:
        values = [row[name] for row in rows]
        if name in numbers:
            return [float(v) if v else None for v in values]
        if name in ("time", "lastposupdate", "lastcontact"):  # timestamps, as pyopensky writes them
            return [datetime.fromtimestamp(float(v), tz=UTC) for v in values]
        if name in ("onground", "alert", "spi"):
            return [v.lower() == "true" for v in values]
        return values

    table = pa.table({name: column(name) for name in rows[0]})
    table = table.set_column(
        table.column_names.index("geoaltitude"), "geoaltitude", pa.array([None] * len(rows), pa.float64())
    )
    parquet, history = tmp_path / "sv.parquet", tmp_path / "sv.csv"
    pq.write_table(table, parquet)
    history.write_text(text)
    assert detect_format(parquet) == "opensky"
    got, expected = read_feed(parquet).tracks, read_feed(history).tracks
    assert len(got) == len(expected) == len(tracks)
    assert got.ids.tolist() == expected.ids.tolist() and got.row.tolist() == [
        r - 1 for r in expected.row.tolist()
    ]
    assert np.array_equal(got.time_s, expected.time_s)  # type: ignore[arg-type]
    assert np.array_equal(got.states.alt_m, expected.states.alt_m)
    assert np.array_equal(got.states.lat_deg, expected.states.lat_deg)
    bare = tmp_path / "bare.parquet"
    pq.write_table(table.drop_columns(["lat", "baroaltitude", "geoaltitude"]), bare)
    with pytest.raises(InputError, match=r"missing column\(s\) lat, baroaltitude \(or geoaltitude\)"):
        read_feed(bare, "opensky")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 50)
    with pytest.raises(InputError, match="cannot read the Parquet file"):
        read_feed(broken)
