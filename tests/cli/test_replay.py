"""``deconflict replay`` on the shipped real ADS-B sample and on bad input."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.report import MAX_INCIDENTS
from tests.builders import T0_S
from tests.report.test_report import check_report, write_pair_csv

SAMPLE = Path(__file__).parents[1] / "data" / "adsb" / "quickstart-slices.csv.gz"


def test_json_report_of_the_real_sample(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "--json", str(SAMPLE)])
    out, _ = capsys.readouterr()
    doc = json.loads(out)
    assert code == 1
    assert (
        doc["rows"] == 19_178
        and doc["start"] == "2021-10-07T12:23:21Z"
        and doc["end"] == "2021-10-07T14:12:00Z"
    )
    assert doc["settings"]["vertical_minimum_m"] == pytest.approx(293.37)
    assert len(doc["incidents"]) >= 5 and len(doc["alerts"]) >= len(
        {(i["a"], i["b"]) for i in doc["incidents"]}
    )
    incident = doc["incidents"][0]
    assert set(incident) >= {
        "a",
        "b",
        "start",
        "end",
        "closest_horizontal",
        "closest_vertical",
        "alert_lead_s",
    }
    closest = incident["closest_horizontal"]
    assert closest["dist_m"] < 9260 and closest["dalt_m"] < 293.37
    assert 48.0 < closest["lat_deg"] < 50.0 and 0.5 < closest["lon_deg"] < 4.5
    alert = doc["alerts"][0]
    assert set(alert) >= {"a", "b", "first", "last", "min_dcpa_m", "min_time_to_los_s"}
    assert doc["rejected"]["altitude_spike"] >= 149


def test_human_summary_and_step(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "--step-s", "5", str(SAMPLE)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "Incidents (actual losses of separation)" in out
    assert "steps of 5 s" in out and "incident(s)" in out


def test_bad_input_and_bad_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.csv"
    path.write_text("icao24,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\na,1,2,3,4,5,6\n")
    assert main(["replay", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: row 1: header: missing column(s) time_s\n"
    assert main(["replay", "--step-s", "0", str(path)]) == 2
    assert "must be > 0" in capsys.readouterr().err


def test_empty_tracks_are_no_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,icao24,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n")
    assert main(["replay", str(path)]) == 0
    assert "No usable reports" in capsys.readouterr().out


def test_html_report_with_json_keeps_stdout_one_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One pair (the report of the real sample, 33 incidents and 67 figures, is tests/report's).
    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    directory = tmp_path / "report"
    code = main(["replay", "--json", "--report", str(directory), str(source)])
    out, err = capsys.readouterr()
    assert code == 1
    doc = json.loads(out)
    index = directory / "index.html"
    assert f"HTML report: {index}" in err
    incidents = len(doc["incidents"])
    assert 0 < incidents <= MAX_INCIDENTS
    page = check_report(index, incidents)
    assert page.sections == [f"incident-{k}" for k in range(1, incidents + 1)]
    assert (directory / "timeline.png").is_file()


def test_html_report_path_is_printed_last_and_bad_directory_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_pair_csv(tmp_path / "pair.csv", "<b>AAA</b>", "BBB")
    directory = tmp_path / "out"
    assert main(["replay", "--report", str(directory), str(source)]) == 1
    out, _ = capsys.readouterr()
    assert out.rstrip().splitlines()[-1] == f"HTML report: {directory / 'index.html'}"
    assert "&lt;b&gt;AAA&lt;/b&gt;" in check_report_text(directory / "index.html", 1)

    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert main(["replay", "--json", "--report", str(blocker), str(source)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"error: {blocker}: cannot write the report: not a directory\n"


def check_report_text(index: Path, sections: int) -> str:
    check_report(index, sections)
    return index.read_text(encoding="utf-8")


def test_low_flyers_are_kept_and_a_floor_is_opt_in(capsys: pytest.CaptureFixture[str]) -> None:
    # The sample has no on_ground column: by default every aircraft takes part and the summary says so.
    assert main(["replay", "--step-s", "5", str(SAMPLE)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "no on_ground column and no altitude floor is set" in out and "Reports left out" not in out
    assert main(["replay", "--step-s", "5", "--json", str(SAMPLE)]) == 1
    kept = json.loads(capsys.readouterr().out)
    assert kept["settings"]["min_alt_m"] is None and kept["ground_flags"] is False
    assert kept["left_out"] == {"on_ground": 0, "below_min_alt": 0, "too_slow": 0}

    assert main(["replay", "--step-s", "5", "--min-alt-ft", "1000", str(SAMPLE)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "altitude floor 1,000 ft" in out and "no on_ground column" not in out
    assert main(["replay", "--step-s", "5", "--min-alt-ft", "1000", "--json", str(SAMPLE)]) == 1
    floored = json.loads(capsys.readouterr().out)
    assert floored["settings"]["min_alt_m"] == pytest.approx(304.8)
    # Of the 1,549 rows at or below 1000 ft (tests/data/adsb/README.md), those cleaning accepted.
    below = floored["left_out"]["below_min_alt"]
    assert 0 < below <= 1_549
    assert f"Reports left out of detection: {below:,} at or below the 1,000 ft floor." in out
    assert len(floored["incidents"]) < len(kept["incidents"])
    assert floored["max_airborne"] < kept["max_airborne"]


def test_ground_flags_leave_aircraft_out_of_a_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    assert main(["replay", "--json", str(source)]) == 1
    assert len(json.loads(capsys.readouterr().out)["incidents"]) == 1
    lines = source.read_text().splitlines()
    flagged = tmp_path / "flagged.csv"
    flagged.write_text(
        "\n".join(
            [lines[0] + ",on_ground"] + [line + (",1" if "bbb222" in line else ",0") for line in lines[1:]]
        )
        + "\n"
    )
    assert main(["replay", "--json", str(flagged)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["incidents"] == [] and doc["ground_flags"] is True
    assert doc["left_out"]["on_ground"] == len(lines[1:]) // 2


def test_implausible_rows_are_left_out_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    lines = source.read_text().splitlines()
    fields = lines[5].split(",")
    fields[6] = "5000"  # gs_mps of row 6
    lines[5] = ",".join(fields)
    source.write_text("\n".join(lines) + "\n")
    assert main(["replay", "--json", str(source)]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["rejected"]["implausible_speed"] == 1
    problem = f"{source}: row 6: gs_mps: must be within [0, 1000] m/s for an aircraft, got 5000"
    assert doc["implausible"] == [problem]
    assert f"warning: {problem}; row left out\n" in err

    assert main(["replay", "--json", str(SAMPLE)]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    # 149 rows above 16 km (tests/data/adsb/README.md): the first 20 listed, all counted.
    assert len(doc["implausible"]) == 20 and "alt_m: must be within [-1000, 16000] m" in doc["implausible"][0]
    assert f"warning: {SAMPLE}: 149 rows with implausible values left out" in err
    assert len([line for line in err.splitlines() if line]) == 4


def test_an_existing_report_folder_is_refused_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    directory = tmp_path / "out"
    directory.mkdir()
    assert main(["replay", "--report", str(directory), str(source)]) == 2
    out, err = capsys.readouterr()
    assert (
        out == ""
        and err == f"error: {directory}: the report folder already exists; use --force to replace it\n"
    )
    assert list(directory.iterdir()) == []
    assert main(["replay", "--report", str(directory), "--force", str(source)]) == 1
    assert (directory / "index.html").is_file()


def long_tracks(path: Path, hours: int) -> Path:
    """Two aircraft far apart reporting every 20 s for ``hours``: a step per second, little to read."""
    with path.open("w", encoding="utf-8") as stream:
        stream.write("time_s,icao24,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n")
        for k in range(hours * 180):
            stream.write(
                f"{T0_S + 20 * k},aaa111,10.0,20.0,3000,0,0,0\n{T0_S + 20 * k},bbb222,40.0,20.0,3000,0,0,0\n"
            )
    return path


def test_ctrl_c_stops_cleanly_says_what_was_done_and_leaves_no_report(tmp_path: Path) -> None:
    source = long_tracks(tmp_path / "long.csv", hours=40)  # 143,981 steps: minutes, if not interrupted
    directory = tmp_path / "report"
    with (tmp_path / "out.txt").open("wb") as out, (tmp_path / "err.txt").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "deconflict", "replay", "--report", str(directory), str(source)],
            stdout=out,
            stderr=err,
        )
    try:
        # The report's temporary folder appears once the tracks are read, just before the replay.
        deadline = time.monotonic() + 60.0
        while not list(tmp_path.glob(".report.*")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    stderr = (tmp_path / "err.txt").read_text()
    assert code == 130 and "Traceback" not in stderr
    match = re.search(r"interrupted: replayed ([\d,]+) of ([\d,]+) steps; no report written", stderr)
    assert match is not None, stderr
    done, total = (int(x.replace(",", "")) for x in match.groups())
    assert 0 <= done < total == 40 * 3600 - 19  # the last report is 19 s before the 40th hour ends
    assert (tmp_path / "out.txt").read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["err.txt", "long.csv", "out.txt"]
