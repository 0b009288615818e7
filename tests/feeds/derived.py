"""BaseStation and OpenSky files derived from the real ADS-B trajectories in tests/data/adsb.

The trajectories are real (the ``traffic`` package's quickstart sample, MIT, attributed
to the OpenSky Network; see tests/data/adsb/README.md); the files written here are
derived from them: each track row becomes what a receiver or OpenSky would have served
for it, in their units (ft, kt, ft/min; or m, m/s). Used by the tests and the benchmark.

    python -m tests.feeds.derived OUT_DIR   # writes quickstart-slices.sbs and .opensky.json/.csv
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from deconflict.tactical.tracks import Tracks, read_tracks
from deconflict.units import FT_PER_MIN_TO_MPS, FT_TO_M, KT_TO_MPS

__all__ = ["ADSB", "opensky_history_csv", "opensky_rest", "real_tracks", "sbs_lines"]

ADSB = Path(__file__).parent.parent / "data" / "adsb" / "quickstart-slices.csv.gz"


def real_tracks() -> Tracks:
    """The real trajectories the derived files come from."""
    return read_tracks(ADSB, require_time=True)


def _stamp(time_s: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(time_s, tz=UTC)
    return moment.strftime("%Y/%m/%d"), moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def sbs_lines(tracks: Tracks) -> list[str]:
    """Per track row: a velocity (``MSG,4``) then a position (``MSG,3``) line, both at the row's
    time; an identification (``MSG,1``) before an aircraft's first row and when its callsign
    changes. As dump1090 writes them."""
    assert tracks.time_s is not None
    s = tracks.states
    lines: list[str] = []
    seen: dict[str, str] = {}
    for k in range(len(tracks)):
        ident = str(tracks.ids[k]).upper()
        date, clock = _stamp(float(tracks.time_s[k]))
        head = f"MSG,{{}},1,1,{ident},1,{date},{clock},{date},{clock}"
        if seen.get(ident) != tracks.callsigns[k]:
            seen[ident] = str(tracks.callsigns[k])
            lines.append(head.format(1) + f",{tracks.callsigns[k]},,,,,,,,,,,0")
        gs_kt = float(s.gs_mps[k]) / KT_TO_MPS
        vr = float(s.vs_mps[k]) / FT_PER_MIN_TO_MPS
        lines.append(head.format(4) + f",,,{gs_kt:.1f},{float(s.trk_deg[k]):.1f},,,{vr:.0f},,,,,0")
        alt_ft = float(s.alt_m[k]) / FT_TO_M
        lat, lon = float(s.lat_deg[k]), float(s.lon_deg[k])
        lines.append(head.format(3) + f",,{alt_ft:.0f},,,{lat:.5f},{lon:.5f},,,0,0,0,0")
    return lines


def opensky_rest(tracks: Tracks) -> str:
    """One REST ``states`` response per second of the recording, one per line."""
    assert tracks.time_s is not None
    s = tracks.states
    by_time: dict[float, list[list[object]]] = {}
    for k in range(len(tracks)):
        time_s = float(tracks.time_s[k])
        by_time.setdefault(time_s, []).append(
            [
                str(tracks.ids[k]),
                f"{tracks.callsigns[k]:<8}",
                "France",
                int(time_s),
                int(time_s),
                float(s.lon_deg[k]),
                float(s.lat_deg[k]),
                float(s.alt_m[k]),
                False,
                float(s.gs_mps[k]),
                float(s.trk_deg[k]),
                float(s.vs_mps[k]),
                None,
                None,
                None,
                False,
                0,
            ]
        )
    return "".join(json.dumps({"time": int(t), "states": rows}) + "\n" for t, rows in by_time.items())


def opensky_history_csv(tracks: Tracks) -> str:
    """The rows as a ``state_vectors_data4`` extract (``lastposupdate`` the row's time)."""
    assert tracks.time_s is not None
    s = tracks.states
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "time",
            "icao24",
            "lat",
            "lon",
            "velocity",
            "heading",
            "vertrate",
            "callsign",
            "onground",
            "alert",
            "spi",
            "squawk",
            "baroaltitude",
            "geoaltitude",
            "lastposupdate",
            "lastcontact",
        ]
    )
    for k in range(len(tracks)):
        time_s = float(tracks.time_s[k])
        writer.writerow(
            [
                int(time_s),
                tracks.ids[k],
                s.lat_deg[k],
                s.lon_deg[k],
                s.gs_mps[k],
                s.trk_deg[k],
                s.vs_mps[k],
                tracks.callsigns[k],
                "false",
                "false",
                "false",
                "",
                s.alt_m[k],
                "",
                time_s,
                time_s,
            ]
        )
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    out = Path((argv or sys.argv[1:])[0])
    out.mkdir(parents=True, exist_ok=True)
    tracks = real_tracks()
    (out / "quickstart-slices.sbs").write_text("\n".join(sbs_lines(tracks)) + "\n")
    (out / "quickstart-slices.opensky.json").write_text(opensky_rest(tracks))
    (out / "quickstart-slices.opensky.csv").write_text(opensky_history_csv(tracks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
