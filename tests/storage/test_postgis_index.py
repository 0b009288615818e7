"""The PostgreSQL store's candidates: the PostGIS n-D GiST index finds exactly the boxes that meet a query.

Checked against a plain reference (every stored volume's search boxes tested
one by one): no misses, no extras, across the antimeridian and with every
altitude reference; and the planner does use the index.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.storage.postgres.operations import _CANDIDATES, PostgresStore, _index_row
from deconflict.strategic.volume import Operation, SearchBox, Volume
from deconflict.units import AltitudeMargins
from tests.builders import T0_S, box, circle, volume
from tests.storage.backends import empty_postgres

MARGINS = AltitudeMargins()


def _meets(a: SearchBox, b: SearchBox) -> bool:
    return (
        a.lon_min_deg <= b.lon_max_deg
        and b.lon_min_deg <= a.lon_max_deg
        and a.lat_min_deg <= b.lat_max_deg
        and b.lat_min_deg <= a.lat_max_deg
        and a.alt_min_m <= b.alt_max_m
        and b.alt_min_m <= a.alt_max_m
        and a.time_min_s <= b.time_max_s
        and b.time_min_s <= a.time_max_s
    )


@st.composite
def volumes(draw: st.DrawFn, n: int) -> Volume:
    lon = draw(st.floats(176.0, 184.0))  # across the antimeridian too
    lat = draw(st.floats(-2.0, 2.0))
    size = draw(st.floats(0.01, 3.0))
    shape = draw(st.sampled_from(["box", "circle"]))
    footprint = box(lon, lat, lon + size, lat + size) if shape == "box" else circle(lon, lat, size * 50_000.0)
    lower = draw(st.floats(0.0, 5000.0))
    start = T0_S + draw(st.floats(0.0, 7200.0))
    return volume(
        f"v{n}",
        f"p{(n + 1) % 3}",  # p0 (the filer, excluded) owns every third
        footprint,
        lower_m=lower,
        upper_m=lower + draw(st.floats(10.0, 3000.0)),
        start_s=start,
        end_s=start + draw(st.floats(60.0, 7200.0)),
        reference=draw(st.sampled_from(["MSL", "AGL", "W84"])),
    )


@st.composite
def near(draw: st.DrawFn, made: list[Volume]) -> SearchBox:
    """A query box around one of the stored boxes, each side moved a little in or out: edges meet or miss."""
    boxes = [b for v in made for b in v.search_boxes(MARGINS)]
    b = draw(st.sampled_from(boxes))

    def moved(low: float, high: float, step: float) -> tuple[float, float]:
        gap = draw(st.sampled_from([-1.0, -1e-9, 0.0, 1e-9, 1.0])) * step  # > 0 misses, 0 touches
        side = draw(st.sampled_from(["inside", "right", "left"]))
        if side == "right":  # beyond the box's high side
            return high + gap, high + gap + step
        if side == "left":
            return low - gap - step, low - gap
        return low - gap, max(low - gap, high + draw(st.sampled_from([-1.0, 0.0, 1.0])) * step)

    lon = moved(b.lon_min_deg, b.lon_max_deg, 0.5)
    lat = moved(b.lat_min_deg, b.lat_max_deg, 0.5)
    alt = moved(b.alt_min_m, b.alt_max_m, 500.0)
    time_s = moved(b.time_min_s, b.time_max_s, 600.0)
    return SearchBox(lon[0], lat[0], lon[1], lat[1], alt[0], alt[1], time_s[0], time_s[1])


@pytest.fixture(scope="module")
def store(contract_postgres_url: str) -> PostgresStore:
    empty_postgres(contract_postgres_url)
    opened = PostgresStore(contract_postgres_url)
    yield opened  # type: ignore[misc]
    opened.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(st.integers(0, 10**6), min_size=3, max_size=16), data=st.data())
def test_candidates_are_exactly_the_volumes_whose_boxes_meet_the_query(
    store: PostgresStore, stored: list[int], data: st.DataObject
) -> None:
    empty_postgres(store.database.url)
    made = [data.draw(volumes(n)) for n in range(len(stored))]
    store.import_operations([Operation(v.operation, v.party, (v,)) for v in made])
    for query in data.draw(st.lists(near(made), min_size=1, max_size=6)):
        with store.transaction() as tx:
            (found,) = tx.candidates([query], exclude_party="p0")
        expected = [
            v.id for v in made if v.party != "p0" and any(_meets(b, query) for b in v.search_boxes(MARGINS))
        ]
        assert sorted(v.id for v in found) == sorted(expected)


def test_the_planner_uses_the_gist_index(store: PostgresStore, tmp_path: Path) -> None:
    empty_postgres(store.database.url)
    made = [volume(f"v{n}", "red", box(n * 0.1, 0.0, n * 0.1 + 0.05, 0.05)) for n in range(300)]
    store.import_operations([Operation(v.operation, v.party, (v,)) for v in made])
    with psycopg.connect(store.database.url, autocommit=True) as connection:
        connection.execute("ANALYZE volume_index")
        query = SearchBox(1.0, 0.0, 1.01, 0.01, 0.0, 100.0, T0_S, T0_S + 60.0)
        plan = "\n".join(
            str(row[0])
            for row in connection.execute("EXPLAIN " + _CANDIDATES, _index_row(query))  # type: ignore[operator]
        )
    assert "volume_index_box" in plan, plan
