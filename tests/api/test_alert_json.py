"""Alerts as the events socket writes them: :func:`alerts_json` against :meth:`AlertOut.of`'s model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.api.schemas.alerts import AlertOut, alerts_json
from deconflict.channel.gating import Withheld
from deconflict.channel.live import AlertKind, AlertLevel, AlertView
from deconflict.channel.public_ids import PublicIds
from tests.builders import T0_S

IDS = PublicIds(b"k" * 32)

_figure = st.none() | st.floats(-1e7, 1e7)
_position = st.none() | st.tuples(st.floats(-180, 180), st.floats(-90, 90), st.floats(-500, 20_000))
_id = st.integers(1, 2_000).map(lambda n: f"a-{n}")


@st.composite
def views(draw: st.DrawFn) -> AlertView:
    alert_id = draw(_id)
    return AlertView(
        id=alert_id,
        level=draw(st.sampled_from(AlertLevel)),
        own_id=draw(st.none() | st.text(min_size=1, max_size=8)),
        other_party=draw(st.none() | st.sampled_from(["red", "civil"])),
        other_ref=draw(st.sampled_from([None, alert_id, "a-7"])),
        since_s=T0_S + draw(st.sampled_from([0.0, 1.0, 2.5, 3.125])),
        time_to_loss_s=draw(_figure),
        time_to_cpa_s=draw(_figure),
        distance_cpa_m=draw(_figure),
        vertical_cpa_m=draw(_figure),
        own=draw(_position),
        other=draw(_position),
        withheld=draw(st.none() | st.sampled_from(Withheld)),
        kind=draw(st.sampled_from(AlertKind)),
    )


@settings(deadline=None)
@given(st.lists(views(), max_size=30))
def test_alerts_as_json_values_are_the_models_dumped(found: list[AlertView]) -> None:
    expected = [AlertOut.of(view, IDS).model_dump(mode="json") for view in found]
    got = alerts_json(found, IDS)
    assert got == expected
    assert [list(g) for g in got] == [list(e) for e in expected]  # the same fields in the same order
