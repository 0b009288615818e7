"""Property: on any mix of good, damaged and random BaseStation lines, the compiled file path
and the line-by-line reference give the same states and the same drops, and never raise."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.feeds import SbsAssembler, assemble_sbs

IDENTS = st.sampled_from(["4CA2D6", "4ca2d7", "~3C6DD1", "4CA2D", "ZZZZZZ", ""])
DATES = st.sampled_from(["2024/05/01", "2024/5/1", "2024/02/29", "2023/02/29", "2024/13/01", "", "x"])
CLOCKS = st.sampled_from(["12:00:01.000", "12:00:02", "12:00:03.5", "23:59:60.999", "24:00:00", "1:2:3", ""])
NUMBERS = st.one_of(
    st.floats(-1000, 1000, allow_nan=False).map(lambda x: f"{x:.5f}"),
    st.integers(-50000, 50000).map(str),
    st.sampled_from(
        ["", "1e3", "-.5", "5.", "nan", "inf", "1_0", " 1", "0x10", "+7", "1e400", "12345678901234567890"]
    ),
)


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["MSG", "MSG", "MSG", "SEL", "CLK", "XYZ", ""]))
    msg_type = draw(st.sampled_from(["1", "2", "3", "3", "4", "4", "5", "8", "9", ""]))
    date, clock = draw(DATES), draw(CLOCKS)
    fields = [kind, msg_type, "1", "1", draw(IDENTS), "1", date, clock, date, clock]
    fields += [draw(st.sampled_from(["", "AFR1  ", "EZY"]))]
    fields += [draw(NUMBERS) for _ in range(6)]
    fields += ["", "0", "0", "0", draw(st.sampled_from(["0", "-1", "1", "", " 0 "]))]
    line = ",".join(fields)
    if draw(st.booleans()) and draw(st.booleans()):
        line = line[: draw(st.integers(0, len(line)))]
    return line


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(lines(), st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t)),
        max_size=40,
    )
)
def test_the_compiled_path_agrees_with_the_reference(text_lines: list[str]) -> None:
    reading = assemble_sbs(text_lines, "p.sbs")
    assembler = SbsAssembler("p.sbs", forget_s=1e12)
    states = [s for row, line in enumerate(text_lines, 1) if (s := assembler.line(line, row)) is not None]
    assert dict(reading.drops.counts) == dict(assembler.drops.counts)
    t = reading.tracks
    assert t.row.tolist() == [s.row for s in states]
    assert t.ids.tolist() == [s.id for s in states]
    assert np.array_equal(t.time_s, [s.time_s for s in states])
    for name in ("lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps"):
        assert np.array_equal(getattr(t.states, name), [getattr(s, name) for s in states]), name
    assert t.on_ground is not None
    assert t.on_ground.tolist() == [bool(s.on_ground) for s in states]
