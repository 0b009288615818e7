"""Property: damaged ASTERIX recordings (bytes changed, cut out or put in anywhere) never raise;
every record read is a state or a counted drop, and the datagram path agrees with the file path."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconflict.feeds.asterix import AsterixAssembler, assemble_asterix
from deconflict.feeds.pcap import is_pcap

SAMPLES = {
    category: gzip.decompress(
        (
            Path(__file__).parent.parent / "data" / "adsb" / f"quickstart-60s.cat{category:03d}.ast.gz"
        ).read_bytes()
    )[:4000]
    for category in (21, 62)
}
EDITS = st.lists(
    st.tuples(
        st.integers(0, 3999), st.sampled_from(["set", "cut", "put"]), st.binary(min_size=1, max_size=8)
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(category=st.sampled_from([21, 62]), edits=EDITS)
def test_damaged_recordings_are_read_never_raised(category: int, edits: list[tuple[int, str, bytes]]) -> None:
    data = bytearray(SAMPLES[category])
    for at, kind, value in edits:
        at = min(at, len(data))
        if kind == "set":
            data[at : at + len(value)] = value
        elif kind == "cut":
            del data[at : at + len(value)]
        else:
            data[at:at] = value
    assume(not is_pcap(bytes(data)))  # damage that writes a capture's magic makes it read as one
    reading = assemble_asterix(bytes(data), "damaged.ast", start_s=1633609401.0)
    assert len(reading.tracks) <= reading.records
    assert all(p.source == "damaged.ast" for p in reading.drops.examples)
    live = AsterixAssembler("damaged.ast")
    states = live.datagram(bytes(data), 1633609401.0 + 30.0)
    assert [s.row for s in states] == reading.tracks.row.tolist()
    assert dict(live.drops.counts) == dict(reading.drops.counts)
