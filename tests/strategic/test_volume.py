"""Volumes' search boxes: each volume's own, and many volumes' at once (as lists and as arrays)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.strategic.buffers import Buffers
from deconflict.strategic.volume import SearchBox, search_box_array, search_boxes_of
from deconflict.units import AltitudeMargins
from tests.builders import box, circle, polygon, volume
from tests.strategic.strategies import Case, cases

MARGINS = AltitudeMargins()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=cases(min_size=0, max_size=7),
    buffer_m=st.sampled_from([0.0, 1.0, 500.0, 50_000.0]),
    reference=st.sampled_from(["MSL", "STD"]),
)
def test_search_boxes_of_many_volumes_are_each_volumes_own(
    case: Case, buffer_m: float, reference: str
) -> None:
    grow = Buffers(buffer_m, 2.0 * buffer_m, 3.0 * buffer_m)
    assert search_boxes_of(case.volumes, MARGINS, grow) == [
        v.search_boxes(MARGINS, grow) for v in case.volumes
    ]


def test_search_boxes_of_parts_across_the_antimeridian_and_near_a_pole_stay_with_their_volume() -> None:
    volumes = [
        volume("seam", "red", polygon((179.5, 10.0), (180.5, 10.0), (180.5, 11.0), (179.5, 11.0))),
        volume("square", "blue", box(36.0, 35.0, 36.5, 35.5)),
        volume("polar", "green", circle(10.0, 89.9, 20_000.0)),
        volume("west", "red", polygon((-180.5, -5.0), (-179.0, -5.0), (-179.0, -4.0), (-180.5, -4.0))),
    ]
    for grow in (Buffers(), Buffers(100_000.0, 10.0, 60.0)):
        found = search_boxes_of(volumes, MARGINS, grow)
        assert found == [v.search_boxes(MARGINS, grow) for v in volumes]
    # Each footprint split at the antimeridian keeps both of its parts.
    assert [len(boxes) for boxes in search_boxes_of(volumes, MARGINS)] == [2, 1, 1, 2]


def _as_rows(listed: list[list[SearchBox]]) -> tuple[list[int], list[list[float]]]:
    owners = [k for k, boxes in enumerate(listed) for _ in boxes]
    return owners, [
        [getattr(b, name) for name in SearchBox.__dataclass_fields__] for bs in listed for b in bs
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(min_size=0, max_size=7))
def test_search_box_array_gives_the_boxes_of_search_boxes_of(case: Case) -> None:
    owners, boxes = search_box_array(case.volumes, MARGINS)
    assert (owners.tolist(), boxes.tolist()) == _as_rows(search_boxes_of(case.volumes, MARGINS))


def test_search_box_array_of_parts_across_the_antimeridian_and_mixed_references() -> None:
    volumes = [
        volume("square", "blue", box(36.0, 35.0, 36.5, 35.5)),
        volume("seam", "red", polygon((179.5, 10.0), (180.5, 10.0), (180.5, 11.0), (179.5, 11.0))),
        volume("polar", "green", circle(10.0, 89.9, 20_000.0)),
        volume(
            "mixed",
            "red",
            box(36.0, 35.0, 36.5, 35.5),
            lower_m=100.0,
            upper_m=3_000.0,
            reference="AGL",
            upper_reference="STD",
        ),
    ]
    owners, boxes = search_box_array(volumes, MARGINS)
    assert (owners.tolist(), boxes.tolist()) == _as_rows(search_boxes_of(volumes, MARGINS))
    assert owners.tolist() == [0, 1, 1, 2, 3]
