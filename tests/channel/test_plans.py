"""A party files only its own plans, of a bounded extent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

import deconflict
from deconflict.channel.plans import _box_area_m2, check_extent, plan_volumes
from deconflict.config import Settings
from deconflict.errors import InputError
from deconflict.geometry.geodesy import area_m2
from deconflict.strategic.limits import Limits
from tests.builders import T0_S, box, collection, feature, volume


def test_features_without_party_belong_to_the_filer() -> None:
    volumes = plan_volumes(collection(feature("v1"), feature("v2", party="blue")), "blue")
    assert [(v.id, v.party) for v in volumes] == [("v1", "blue"), ("v2", "blue")]


def test_a_feature_naming_another_party_is_refused_with_its_record_and_field() -> None:
    with pytest.raises(InputError) as info:
        plan_volumes(collection(feature("v1"), feature("v2", party="red")), "blue", source="request")
    (problem,) = info.value.problems
    assert (problem.source, problem.record, problem.field) == ("request", "feature 1 (id v2)", "party")
    assert "'red'" in problem.message and "'blue'" in problem.message


# The probe of the report: one operation over lon 30-46 / lat 30-40, 0-30 km, two years long.
PROBE = volume(
    "probe/v1",
    "blue",
    box(30.0, 30.0, 46.0, 40.0),
    start_s=T0_S,
    end_s=T0_S + 2 * 365 * 86_400.0,
    lower_m=0.0,
    upper_m=30_000.0,
    operation="probe",
)


def test_the_probe_is_refused_naming_each_limit_and_its_setting() -> None:
    with pytest.raises(InputError) as info:
        check_extent("probe", [PROBE], Limits())
    problems = {p.field: p for p in info.value.problems}
    assert set(problems) == {"geometry", "time_end", "altitude_upper"}
    assert "max_operation_area_km2" in problems["geometry"].message
    assert "max_operation_window_h" in problems["time_end"].message
    assert "max_operation_band_m" in problems["altitude_upper"].message
    assert all(p.source == "operation probe" for p in info.value.problems)
    # The figures are the operation's own: about 1.6 million km^2, 17,520 h, 30,000 m.
    assert "17,520.0 h" in problems["time_end"].message
    assert "30,000 m" in problems["altitude_upper"].message


def test_real_operations_fit_the_default_limits() -> None:
    # The bundled examples: an airway, strike and CAP areas, a training circle.
    for party in ("blue", "red", "civil"):
        path = Path(deconflict.__file__).parent / "data" / "examples" / f"{party}.geojson"
        volumes = plan_volumes(json.loads(path.read_text()), party)
        check_extent(party, volumes, Limits())


def test_volumes_stacked_over_one_area_count_it_once() -> None:
    # 40,000 km^2 or so, four times over at different heights and hours: one area, within the limit.
    area = box(36.0, 34.0, 38.0, 35.7)
    stacked = [
        volume(
            f"v{k}", "blue", area, start_s=T0_S + 3600.0 * k, lower_m=1000.0 * k, upper_m=1000.0 * k + 500.0
        )
        for k in range(4)
    ]
    check_extent("op", stacked, Limits())
    with pytest.raises(InputError) as info:
        check_extent("op", stacked, Limits(max_operation_area_m2=10_000.0e6))
    (problem,) = info.value.problems
    assert problem.field == "geometry" and "km^2" in problem.message


def test_each_limit_is_the_settings() -> None:
    limits = Settings(
        max_operation_area_km2=10.0, max_operation_window_h=2.0, max_operation_band_m=300.0
    ).limits()
    assert (limits.max_operation_area_m2, limits.max_operation_window_s, limits.max_operation_band_m) == (
        10.0e6,
        7200.0,
        300.0,
    )
    small = volume("v", "blue", box(36.0, 35.0, 36.01, 35.01), lower_m=0.0, upper_m=300.0)
    check_extent("op", [small], limits)
    with pytest.raises(InputError):
        check_extent("op", [volume("v", "blue", box(36.0, 35.0, 36.01, 35.01), upper_m=301.0)], limits)


@given(
    lon0=st.floats(-179.0, 178.0),
    lat0=st.floats(-89.0, 88.0),
    width=st.floats(1e-3, 60.0),
    height=st.floats(1e-3, 60.0),
)
def test_the_quick_area_bound_is_never_below_the_exact_area(
    lon0: float, lat0: float, width: float, height: float
) -> None:
    lon1, lat1 = min(lon0 + width, 179.9), min(lat0 + height, 89.9)
    exact = float(area_m2([shapely.box(lon0, lat0, lon1, lat1)])[0])
    assert exact <= 1.01 * _box_area_m2(lon0, lat0, lon1, lat1)
    # ... and it is tight enough to settle every real operation quickly.
    assert 1.01 * _box_area_m2(lon0, lat0, lon1, lat1) <= 1.02 * exact
