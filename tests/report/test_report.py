"""The HTML replay report: one section per shown incident, valid PNGs, escaping, bounds."""

from __future__ import annotations

import csv
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from deconflict.errors import InputError
from deconflict.report import incident_order, write_report
from deconflict.tactical.replay import ReplayReport, replay
from deconflict.tactical.tracks import Tracks, read_tracks
from tests.builders import T0_S

SAMPLE = Path(__file__).parents[1] / "data" / "adsb" / "quickstart-slices.csv.gz"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Image sources and incident section ids of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.sections: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        elif tag == "section":
            self.sections.append(values["id"] or "")
        elif tag == "script":
            self.scripts += 1


def read_page(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def check_png(path: Path) -> tuple[int, int]:
    """Assert ``path`` is a non-trivial PNG; return its (width, height) in pixels from the IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5_000, f"{path} is only {len(data)} bytes"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 300 and height >= 200, (path, width, height)
    return width, height


def check_report(index: Path, expected_sections: int) -> _Page:
    """Assert the page has ``expected_sections`` incident sections, each with two plots, and a timeline."""
    assert index.name == "index.html" and index.is_file()
    page = read_page(index)
    assert len(page.sections) == expected_sections
    assert all(section.startswith("incident-") for section in page.sections)
    assert page.images[0] == "timeline.png"
    assert len(page.images) == 1 + 2 * expected_sections
    for src in page.images:
        assert "/" not in src and not src.startswith("http"), "images are local files beside index.html"
        check_png(index.parent / src)
    return page


@pytest.fixture(scope="module")
def sample() -> tuple[Tracks, ReplayReport]:
    tracks = read_tracks(SAMPLE, require_time=True)
    return tracks, replay(tracks)


def test_report_of_the_real_sample_is_capped_to_the_closest_incidents(
    sample: tuple[Tracks, ReplayReport], tmp_path: Path
) -> None:
    tracks, report = sample
    assert len(report.incidents) > 3
    calls: list[tuple[int, int]] = []
    index = write_report(
        report,
        tracks,
        tmp_path / "new" / "report",
        max_incidents=3,
        max_timeline_pairs=5,
        on_plot=lambda *a: calls.append(a),
    )
    page = check_report(index, 3)
    shown = incident_order(report, 3)
    assert page.sections == [f"incident-{k + 1}" for k in shown]
    text = index.read_text(encoding="utf-8")
    assert f"Showing the 3 closest of {len(report.incidents)} incidents" in text
    pairs = {(x.a, x.b) for x in (*report.alerts, *report.incidents)}
    assert f"The timeline shows 5 of {len(pairs)} aircraft pairs" in text
    assert "quickstart-slices.csv.gz" in text and "2021-10-07 12:23:21 UTC" in text
    assert f"<tr><th>Incidents</th><td>{len(report.incidents)} " in text
    assert f"<tr><th>Alerts</th><td>{len(report.alerts)} " in text
    for k in shown:
        incident = report.incidents[k]
        assert f"{incident.closest_horizontal.dist_m / 1852.0:.2f} NM" in text
        assert incident.callsign_a in text and incident.callsign_b in text
    assert "http://" not in text and "https://" not in text and page.scripts == 0
    assert calls == [(k, 7) for k in (1, 3, 5, 7)]


def test_incident_order_is_closest_first_then_time_order(sample: tuple[Tracks, ReplayReport]) -> None:
    _, report = sample
    every = incident_order(report, 1000)
    assert every == list(range(len(report.incidents)))
    three = incident_order(report, 3)
    distances = sorted(i.closest_horizontal.dist_m for i in report.incidents)
    assert three == sorted(three)
    assert sorted(report.incidents[k].closest_horizontal.dist_m for k in three) == distances[:3]
    assert incident_order(report, 0) == []
    with pytest.raises(ValueError, match="max_incidents"):
        incident_order(report, -1)


def write_pair_csv(path: Path, callsign_a: str, callsign_b: str, seconds: int = 30) -> Path:
    """Two aircraft 3 km apart at one level flying east side by side: an incident for every step."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["time_s", "icao24", "callsign", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps"]
        )
        for k in range(seconds):
            lon = 2.0 + k * 200.0 / 74_600.0
            writer.writerow([T0_S + k, "aaa111", callsign_a, 48.0, lon, 3000.0, 200.0, 90.0, 0.0])
            writer.writerow([T0_S + k, "bbb222", callsign_b, 48.027, lon, 3030.0, 200.0, 90.0, 0.0])
    return path


def test_strings_from_the_data_are_escaped(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script>'
    source = write_pair_csv(tmp_path / "a&b<c>.csv", hostile, "$x^2$ & co")
    tracks = read_tracks(source, require_time=True)
    report = replay(tracks)
    assert len(report.incidents) == 1
    index = write_report(report, tracks, tmp_path / "out")
    page = check_report(index, 1)
    text = index.read_text(encoding="utf-8")
    assert "<script" not in text and page.scripts == 0
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "a&amp;b&lt;c&gt;.csv" in text and "$x^2$ &amp; co" in text


def test_no_incident_still_writes_a_page_and_an_empty_timeline(tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_text("time_s,icao24,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n")
    tracks = read_tracks(source, require_time=True)
    report = replay(tracks)
    index = write_report(report, tracks, tmp_path / "out")
    check_report(index, 0)
    text = index.read_text(encoding="utf-8")
    assert "No incident" in text and "no usable reports" in text


def test_a_file_in_the_way_is_an_input_error(sample: tuple[Tracks, ReplayReport], tmp_path: Path) -> None:
    tracks, report = sample
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(InputError, match="blocker: cannot write the report: not a directory"):
        write_report(report, tracks, blocker, max_incidents=0)
    with pytest.raises(InputError, match="cannot write the report"):
        write_report(report, tracks, blocker / "sub", max_incidents=0)
    with pytest.raises(ValueError, match="max_timeline_pairs"):
        write_report(report, tracks, tmp_path / "x", max_timeline_pairs=0)


def test_summary_says_what_was_left_out_and_the_floor(tmp_path: Path) -> None:
    from deconflict.tactical import GroundFilter
    from deconflict.tactical.replay import ReplaySettings

    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    tracks = read_tracks(source, require_time=True)
    report = replay(tracks, ReplaySettings(ground=GroundFilter(min_alt_m=3010.0)))
    text = write_report(report, tracks, tmp_path / "out").read_text(encoding="utf-8")
    assert "<th>Left out of detection</th><td>30 at or below the floor (altitude floor 9,875 ft)</td>" in text


def test_an_interrupted_report_leaves_nothing_behind(tmp_path: Path) -> None:
    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    tracks = read_tracks(source, require_time=True)
    report = replay(tracks)
    out = tmp_path / "reports" / "out"

    def interrupt(done: int, total: int) -> None:
        if done > 1:  # the timeline is written, the incident plots are not
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_report(report, tracks, out, on_plot=interrupt)
    assert list((tmp_path / "reports").iterdir()) == []


def test_an_existing_report_folder_is_replaced_only_when_forced(tmp_path: Path) -> None:
    source = write_pair_csv(tmp_path / "pair.csv", "AAA", "BBB")
    tracks = read_tracks(source, require_time=True)
    report = replay(tracks)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("an analyst's notes")
    with pytest.raises(InputError, match=r"out: the report folder already exists; use --force to replace it"):
        write_report(report, tracks, out)
    assert (out / "old.txt").is_file()
    index = write_report(report, tracks, out, force=True)
    assert index == out / "index.html" and check_report(index, 1)
    assert not (out / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "pair.csv"]
