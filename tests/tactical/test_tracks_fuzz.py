"""Parser fuzzing of track CSVs: mutated, truncated or badly compressed files get a clear error only.

Every mutation of a valid file either still reads or raises :class:`InputError`
whose problems name the file (and, for a bad value, the row and the column);
through ``deconflict detect`` and ``deconflict replay`` it is exit 2 with
``error: FILE: ...`` lines and never a traceback.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.errors import InputError
from deconflict.tactical.tracks import read_tracks
from tests.cli.conftest import run_main
from tests.mutations import assert_clear, assert_error_lines, mutated_text

VALID = """\
time_s,id,callsign,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps
1767268800,4ca1f2,RYR1,45.00,10.00,10000,230,90,0
1767268800,3c6444,DLH2,45.00,10.30,10000,230,270,0
1767268800,a1b2c3,,45.50,10.10,3000.5,120.25,180,-5.5
1767268810,4ca1f2,RYR1,45.00,10.03,10000,230,90,0
1767268810,3c6444,DLH2,45.00,10.27,10000,230,270,0
"""

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_file(path: Path) -> None:
    for command, require_time in (("detect", False), ("replay", True)):
        try:
            read_tracks(path, require_time=require_time)
            readable = True
        except InputError as error:
            assert_clear(error, str(path), whole_record="fields", records="row")
            readable = False
        code, _, err = run_main(command, "--json", str(path))
        assert "Traceback" not in err
        if not readable:
            assert code == 2, (command, err)
        if code == 2:
            assert_error_lines(err, path)


def test_the_valid_file_reads() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracks.csv"
        path.write_text(VALID, encoding="utf-8")
        assert len(read_tracks(path, require_time=True)) == 5


@FUZZ
@given(mutated_text(VALID), st.booleans())
def test_a_mutated_file_reads_or_names_its_problems(text: str, compressed: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("tracks.csv.gz" if compressed else "tracks.csv")
        data = text.encode("utf-8", errors="surrogatepass")
        path.write_bytes(gzip.compress(data) if compressed else data)
        check_file(path)


@FUZZ
@given(st.integers(min_value=0, max_value=200), st.binary(max_size=8))
def test_a_cut_or_spoiled_gzip_file_is_named(cut: int, junk: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracks.csv.gz"
        path.write_bytes(gzip.compress(VALID.encode())[:cut] + junk)
        check_file(path)


@pytest.mark.parametrize("time_s", ["1e12", "-1", "253402300800"])
def test_a_time_outside_rfc3339_years_is_named(time_s: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracks.csv"
        path.write_text(VALID.replace("1767268810,4ca1f2", f"{time_s},4ca1f2"), encoding="utf-8")
        check_file(path)
        code, _, err = run_main("replay", "--json", str(path))
        assert code == 2 and err.startswith(f"error: {path}: row 5: time_s: must be within"), err


def test_bytes_that_are_not_text_are_named() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, data in [
            ("latin.csv", VALID.replace("RYR1", "RYRé").encode("latin-1")),
            ("nul.csv", VALID.encode().replace(b"RYR1", b"RY\x00R")),
            ("empty.csv", b""),
            ("header-only.csv", VALID.splitlines()[0].encode()),
            ("huge-field.csv", VALID.encode() + b"1767268820,x,," + b"9" * 200_000 + b",10,1,1,1,1\n"),
        ]:
            path = Path(folder) / name
            path.write_bytes(data)
            check_file(path)
