"""``GET /v1/conflicts?format=kml`` and ``GET /v1/incidents?format=kml``: the JSON view drawn, nothing more.

Every value the KML carries (names, data, times, coordinates) is found in the
JSON answer the same party gets; the other side's operation, volumes,
aircraft and coordinates appear in neither; and the drawn solids lie within
the overlap region the JSON gives.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest

from tests.api.conftest import Channel, blue_plan, forbidden_strings, red_plan
from tests.api.test_tracks import BLUE_SECRETS, RED_SECRETS, fly, live_channel

__all__ = ["live_channel"]  # the fixture, with the disclosure gates off: closest approaches are shown

NS = "{http://www.opengis.net/kml/2.2}"
KML_TYPE = "application/vnd.google-earth.kml+xml"


@pytest.fixture
def seeded(channel: Channel) -> None:
    """Blue's plan and red's conflicting one, and an incident between blue's and red's aircraft."""
    assert channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue")).is_success
    assert channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red")).is_success
    fly(channel, range(0, 121))


def _kml(channel: Channel, party: str, path: str) -> ET.Element:
    response = channel.client.get(path, params={"format": "kml"}, headers=channel.auth(party))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(KML_TYPE)
    assert "attachment" in response.headers["content-disposition"]
    root = ET.fromstring(response.content)  # well-formed XML
    assert root.tag == f"{NS}kml"
    return root


def _values(root: ET.Element) -> dict[str, dict[str, str]]:
    """Each placemark's name -> its ExtendedData and TimeSpan texts."""
    found = {}
    for placemark in root.iter(f"{NS}Placemark"):
        values = {d.get("name", ""): d.findtext(f"{NS}value", "") for d in placemark.iter(f"{NS}Data")}
        for tag in ("begin", "end"):
            if (text := placemark.findtext(f"{NS}TimeSpan/{NS}{tag}")) is not None:
                values[tag] = text
        found[placemark.findtext(f"{NS}name", "")] = values
    return found


def _points(placemark: ET.Element) -> np.ndarray:
    return np.array(
        [
            [float(v) for v in point.split(",")]
            for c in placemark.iter(f"{NS}coordinates")
            for point in (c.text or "").split()
        ]
    )


def _json(channel: Channel, party: str, path: str) -> Any:
    response = channel.client.get(path, headers=channel.auth(party))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("party", ["red", "blue"])
def test_conflicts_kml_is_the_json_view_drawn(channel: Channel, party: str) -> None:
    shown = _json(channel, party, "/v1/conflicts")
    assert shown
    root = _kml(channel, party, "/v1/conflicts")
    placemarks = {p.findtext(f"{NS}name", ""): p for p in root.iter(f"{NS}Placemark")}
    values = _values(root)
    assert set(placemarks) == {f"conflict {c['id']}" for c in shown}
    for conflict in shown:
        name = f"conflict {conflict['id']}"
        data = values[name]
        assert (data["begin"], data["end"]) == (conflict["time_start"], conflict["time_end"])
        assert (data["state"], data["other_party"]) == (conflict["state"], conflict["other_party"])
        assert (data["operation"], data["volume"]) == (conflict["operation"], conflict["volume"])
        points = _points(placemarks[name])
        lon0, lat0, lon1, lat1 = conflict["overlap_bbox"]
        assert points[:, 0].min() == lon0 and points[:, 0].max() == lon1
        assert points[:, 1].min() == lat0 and points[:, 1].max() == lat1
        assert conflict["altitude_reference"] == "MSL"  # so drawn as given, absolute
        assert points[:, 2].min() == conflict["altitude_lower_m"]
        assert points[:, 2].max() == conflict["altitude_upper_m"]
        modes = {m.text for m in placemarks[name].iter(f"{NS}altitudeMode")}
        assert modes == {"absolute"}
        style = placemarks[name].findtext(f"{NS}styleUrl", "")
        assert style.startswith(f"#{conflict['state']}-party-")
        assert root.find(f".//{NS}Style[@id='{style[1:]}']") is not None


_DERIVED = {"altitude_lower", "altitude_upper", "overlap_area_m2", "distance_m", "vertical_m", "state"}


@pytest.mark.usefixtures("seeded")
def test_the_kml_discloses_nothing_the_json_withholds(channel: Channel) -> None:
    withheld = {
        "red": [*forbidden_strings(), *BLUE_SECRETS],
        "green": [*forbidden_strings(), "red-op", "red-v1", *BLUE_SECRETS, *RED_SECRETS],
    }
    for party, secrets in withheld.items():
        for path in ("/v1/conflicts", "/v1/incidents"):
            response = channel.client.get(path, params={"format": "kml"}, headers=channel.auth(party))
            assert response.status_code == 200
            for secret in secrets:
                assert secret not in response.text, f"{path}?format=kml discloses {secret!r} to {party}"
            # Every text and number the KML carries is in the JSON view (names but for the prefix).
            json_text = channel.client.get(path, headers=channel.auth(party)).text
            root = ET.fromstring(response.content)
            for name, data in _values(root).items():
                assert name.split(" ", 1)[1] in json_text
                for key, value in data.items():
                    if key in _DERIVED:  # a number of the JSON, written shorter, or a null's meaning
                        continue
                    assert value in json_text, (party, path, key, value)
    green = _kml(channel, "green", "/v1/conflicts")
    assert list(green.iter(f"{NS}Placemark")) == []


def _incident_matches(channel: Channel, party: str, own_id: str, other: str) -> ET.Element | None:
    """The party's one incident in KML agrees with its JSON page; its Point, if any."""
    [incident] = _json(channel, party, "/v1/incidents")["incidents"]
    root = _kml(channel, party, "/v1/incidents")
    [placemark] = list(root.iter(f"{NS}Placemark"))
    data = _values(root)[f"incident {incident['id']}"]
    assert data["begin"] == incident["started"]
    assert data.get("end") == incident["ended"]
    assert (data["own_id"], data["other_party"]) == (own_id, other)
    assert data["state"] == ("ongoing" if incident["ended"] is None else "ended")
    closest = incident["closest"]
    if closest is None:
        assert placemark.find(f"{NS}Point") is None  # withheld: when and with whom, never where
        assert "distance_m" not in data
        return None
    [[lon, lat, alt]] = _points(placemark)
    assert (lon, lat, alt) == (closest["lon_deg"], closest["lat_deg"], closest["alt_m"])
    assert float(data["distance_m"]) == pytest.approx(closest["distance_m"], rel=1e-5)
    assert data["closest_time"] == closest["time"]
    return placemark.find(f"{NS}Point")


@pytest.mark.usefixtures("seeded")
def test_a_withheld_closest_approach_is_not_drawn(channel: Channel) -> None:
    assert _incident_matches(channel, "red", "RED707", "blue") is None  # gated: nothing vouched
    assert _incident_matches(channel, "blue", "BLU101", "red") is None


def test_a_disclosed_closest_approach_is_a_point_with_how_close(live_channel: Channel) -> None:
    fly(live_channel, range(0, 215))  # past the closest approach: the pair separates
    for party, own_id, other in (("blue", "BLU101", "red"), ("red", "RED707", "blue")):
        point = _incident_matches(live_channel, party, own_id, other)
        assert point is not None and point.findtext(f"{NS}altitudeMode") == "absolute"


def test_an_unknown_format_is_refused(channel: Channel) -> None:
    for path in ("/v1/conflicts", "/v1/incidents"):
        response = channel.client.get(path, params={"format": "pdf"}, headers=channel.auth("red"))
        assert response.status_code == 422
