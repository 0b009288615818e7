"""Filing, amending, withdrawing and reading operations: own only, versioned, clear 422s.

Every test runs on SQLite and on PostgreSQL (``channel_backend``).
"""

from __future__ import annotations

from typing import Any

import pytest

from deconflict.strategic.geojson import parse_features
from tests.api.conftest import Channel, both_backends
from tests.builders import altitude, box_feature, plan

channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)


def file(
    channel: Channel, party: str, operation_id: str, *lon_lat: float, priority: int = 0
) -> dict[str, Any]:
    lon0, lat0, lon1, lat1 = lon_lat
    body = plan(operation_id, box_feature(f"{operation_id}/v1", lon0, lat0, lon1, lat1), priority=priority)
    response = channel.client.post("/v1/operations", json=body, headers=channel.auth(party))
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    return filed


def test_post_files_the_operation_for_the_caller(channel: Channel) -> None:
    body = plan("op-1", box_feature("v1", 36.0, 35.0, 36.1, 35.1), priority=3)
    response = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == "/v1/operations/op-1"
    filed = response.json()
    assert filed["conflicts"] == []
    operation = filed["operation"]
    assert (operation["id"], operation["party"], operation["version"]) == ("op-1", "blue", 1)
    assert (operation["state"], operation["priority"]) == ("proposed", 3)
    # The volumes come back as GeoJSON the reader accepts.
    (volume,) = parse_features(operation["volumes"], "response", "nobody")
    assert (volume.id, volume.party, volume.operation, volume.priority) == ("v1", "blue", "op-1", 3)


def test_lists_and_reads_only_the_callers_operations(channel: Channel) -> None:
    file(channel, "blue", "op-b", 36.0, 35.0, 36.1, 35.1)
    file(channel, "red", "op-r", 30.0, 30.0, 30.1, 30.1)
    listed = channel.client.get("/v1/operations", headers=channel.auth("blue")).json()
    assert [op["id"] for op in listed] == ["op-b"]
    own = channel.client.get("/v1/operations/op-b", headers=channel.auth("blue"))
    assert own.status_code == 200 and own.headers["ETag"] == '"1"'
    others = channel.client.get("/v1/operations/op-r", headers=channel.auth("blue"))
    missing = channel.client.get("/v1/operations/op-none", headers=channel.auth("blue"))
    assert others.status_code == missing.status_code == 404
    # Another party's operation looks exactly like one that does not exist.
    assert others.json()["detail"].replace("op-r", "ID") == missing.json()["detail"].replace("op-none", "ID")


def test_another_partys_operation_cannot_be_changed(channel: Channel) -> None:
    file(channel, "red", "op-r", 30.0, 30.0, 30.1, 30.1)
    body = plan("op-r", box_feature("v1", 36.0, 35.0, 36.1, 35.1))
    put = channel.client.put("/v1/operations/op-r", json=body, headers=channel.auth("blue", If_Match='"1"'))
    withdraw = channel.client.post(
        "/v1/operations/op-r/withdraw", headers=channel.auth("blue", If_Match='"1"')
    )
    assert put.status_code == withdraw.status_code == 404
    red = channel.client.get("/v1/operations/op-r", headers=channel.auth("red")).json()
    assert (red["version"], red["state"]) == (1, "proposed")


def test_same_ids_of_different_parties_are_separate(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1)
    file(channel, "red", "op-1", 30.0, 30.0, 30.1, 30.1)
    blue = channel.client.get("/v1/operations/op-1", headers=channel.auth("blue")).json()
    assert blue["party"] == "blue"


def test_posting_an_existing_id_is_a_conflict_naming_the_version(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1)
    body = plan("op-1", box_feature("v1", 36.0, 35.0, 36.1, 35.1))
    response = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
    assert response.status_code == 409
    assert response.json()["current_version"] == 1


def test_put_needs_if_match_and_refuses_a_stale_version(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1)
    body = plan("op-1", box_feature("v1", 36.2, 35.0, 36.3, 35.1), priority=5)
    url = "/v1/operations/op-1"
    missing = channel.client.put(url, json=body, headers=channel.auth("blue"))
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    amended = channel.client.put(url, json=body, headers=channel.auth("blue", If_Match='"1"'))
    assert amended.status_code == 200, amended.text
    assert amended.headers["ETag"] == '"2"'
    assert (amended.json()["operation"]["version"], amended.json()["operation"]["priority"]) == (2, 5)
    stale = channel.client.put(url, json=body, headers=channel.auth("blue", If_Match='"1"'))
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert "version 2" in stale.json()["detail"]
    # A bare number is accepted as well as an ETag.
    again = channel.client.put(url, json=body, headers=channel.auth("blue", If_Match="2"))
    assert again.status_code == 200 and again.json()["operation"]["version"] == 3


def test_an_amendment_without_a_priority_keeps_the_operations_priority(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1, priority=7)
    body = {
        k: v for k, v in plan("op-1", box_feature("v1", 36.2, 35.0, 36.3, 35.1)).items() if k != "priority"
    }
    url = "/v1/operations/op-1"
    kept = channel.client.put(url, json=body, headers=channel.auth("blue", If_Match='"1"'))
    assert kept.status_code == 200, kept.text
    assert (kept.json()["operation"]["version"], kept.json()["operation"]["priority"]) == (2, 7)
    stored = channel.client.get(url, headers=channel.auth("blue")).json()
    assert stored["priority"] == 7
    (feature,) = stored["volumes"]["features"]
    assert feature["properties"]["priority"] == 7
    # Given again, the priority changes, to 0 too.
    changed = channel.client.put(
        url, json={**body, "priority": 0}, headers=channel.auth("blue", If_Match='"2"')
    )
    assert changed.json()["operation"]["priority"] == 0
    # A new operation without a priority has priority 0.
    new = channel.client.post("/v1/operations", json={**body, "id": "op-2"}, headers=channel.auth("blue"))
    assert new.status_code == 201 and new.json()["operation"]["priority"] == 0


def test_put_of_an_unknown_operation_is_not_found(channel: Channel) -> None:
    body = plan("op-9", box_feature("v1", 36.0, 35.0, 36.1, 35.1))
    response = channel.client.put(
        "/v1/operations/op-9", json=body, headers=channel.auth("blue", If_Match='"1"')
    )
    assert response.status_code == 404


def test_withdraw_needs_the_current_version(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1)
    url = "/v1/operations/op-1/withdraw"
    assert channel.client.post(url, headers=channel.auth("blue")).status_code == 428
    stale = channel.client.post(url, headers=channel.auth("blue", If_Match='"7"'))
    assert stale.status_code == 409 and stale.json()["current_version"] == 1
    done = channel.client.post(url, headers=channel.auth("blue", If_Match='"1"'))
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["version"]) == ("withdrawn", 2)
    assert (
        channel.client.post(
            "/v1/operations/op-9/withdraw", headers=channel.auth("blue", If_Match="1")
        ).status_code
        == 404
    )


def test_if_match_that_is_not_a_version_is_422(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1)
    for value in ["*", '"abc"', "0", "-1", "1.5"]:
        response = channel.client.post(
            "/v1/operations/op-1/withdraw", headers=channel.auth("blue", If_Match=value)
        )
        assert response.status_code == 422, value
        assert [p["field"] for p in response.json()["detail"]] == ["If-Match"]  # as every 422


def test_a_feature_of_another_party_is_422_naming_record_and_field(channel: Channel) -> None:
    body = plan(
        "op-1",
        box_feature("v1", 36.0, 35.0, 36.1, 35.1),
        box_feature("v2", 36.0, 35.0, 36.1, 35.1, party="red"),
    )
    response = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert (problem["record"], problem["field"]) == ("feature 1 (id v2)", "party")
    assert "'red'" in problem["msg"]
    assert channel.client.get("/v1/operations", headers=channel.auth("blue")).json() == []


def test_every_problem_of_the_plan_is_reported_with_its_field(channel: Channel) -> None:
    body = plan(
        "op-1",
        box_feature("v1", 36.0, 35.0, 36.1, 35.1, altitude_lower=altitude(0, units="km")),
        box_feature("v2", 36.0, 35.0, 36.1, 35.1, time_end="tomorrow"),
    )
    response = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
    assert response.status_code == 422
    located = {(p["record"], p["field"]) for p in response.json()["detail"]}
    assert located == {("feature 0 (id v1)", "altitude_lower.units"), ("feature 1 (id v2)", "time_end")}


def test_an_empty_plan_is_422(channel: Channel) -> None:
    response = channel.client.post("/v1/operations", json=plan("op-1"), headers=channel.auth("blue"))
    assert response.status_code == 422
    assert "no volumes" in response.json()["detail"][0]["msg"]


def test_body_shape_errors_name_the_field_path(channel: Channel) -> None:
    good = plan("op-1", box_feature("v1", 36.0, 35.0, 36.1, 35.1))
    cases = {
        "id": {k: v for k, v in good.items() if k != "id"},
        "priority": {**good, "priority": "3"},
        "type": {**good, "type": "Feature"},
    }
    for field, body in cases.items():
        response = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
        assert response.status_code == 422, field
        located = [(p["record"], p["field"]) for p in response.json()["detail"]]
        assert ("body", field) in located, response.text
    bad_id = channel.client.post("/v1/operations", json={**good, "id": "a/b"}, headers=channel.auth("blue"))
    assert bad_id.status_code == 422


def test_put_body_id_must_match_the_url(channel: Channel) -> None:
    file(channel, "blue", "op-1", 36.0, 35.0, 36.1, 35.1)
    body = plan("op-2", box_feature("v1", 36.0, 35.0, 36.1, 35.1))
    response = channel.client.put(
        "/v1/operations/op-1", json=body, headers=channel.auth("blue", If_Match="1")
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "id" and "op-2" in problem["msg"]


def test_an_operation_downloads_as_f3548_and_kml_to_its_party_only(channel: Channel) -> None:
    import xml.etree.ElementTree as ET

    import shapely

    from deconflict.formats.f3548 import parse_f3548

    file(channel, "blue", "op-b", 36.0, 35.0, 36.1, 35.1, priority=4)
    file(channel, "red", "op-r", 30.0, 30.0, 30.1, 30.1)
    intent = channel.client.get("/v1/operations/op-b?format=f3548", headers=channel.auth("blue"))
    assert intent.status_code == 200 and intent.headers["ETag"] == '"1"'
    assert intent.headers["content-type"] == "application/json"
    assert intent.headers["content-disposition"] == 'attachment; filename="op-b-f3548.json"'
    assert intent.json()["priority"] == 4
    (volume,) = parse_f3548(intent.json(), "download", "blue")
    assert volume.footprint.shape.covers(shapely.box(36.0, 35.0, 36.1, 35.1))
    kml = channel.client.get("/v1/operations/op-b?format=kml", headers=channel.auth("blue"))
    assert kml.status_code == 200
    assert kml.headers["content-type"] == "application/vnd.google-earth.kml+xml"
    names = [e.text for e in ET.fromstring(kml.text).iter("{http://www.opengis.net/kml/2.2}name")]
    assert "op-b/v1" in names
    # Another party's operation is not found in any format; a format not offered is a 422.
    for plan_format in ("f3548", "kml"):
        other = channel.client.get(f"/v1/operations/op-r?format={plan_format}", headers=channel.auth("blue"))
        assert other.status_code == 404
    assert (
        channel.client.get("/v1/operations/op-b?format=ed269", headers=channel.auth("blue")).status_code
        == 422
    )
    assert channel.client.get("/v1/operations/op-b?format=f3548").status_code == 401


def test_an_operation_downloads_as_notam_text_to_its_party_only(channel: Channel) -> None:
    import shapely

    from deconflict.formats.notam import notam_volumes

    file(channel, "blue", "op-b", 36.0, 35.0, 36.1, 35.1)
    file(channel, "red", "op-r", 30.0, 30.0, 30.1, 30.1)
    notam = channel.client.get("/v1/operations/op-b?format=notam&fir=LCCC", headers=channel.auth("blue"))
    assert notam.status_code == 200 and notam.headers["ETag"] == '"1"'
    assert notam.headers["content-type"] == "text/plain; charset=utf-8"
    assert notam.headers["content-disposition"] == 'attachment; filename="op-b-notam.txt"'
    assert "Q) LCCC/QRTCA/IV/BO/W/" in notam.text and "A) LCCC B) " in notam.text
    (volume,) = notam_volumes(notam.text, "download", "blue")
    assert volume.footprint.shape.covers(shapely.box(36.0, 35.0, 36.1, 35.1))
    other = channel.client.get("/v1/operations/op-r?format=notam", headers=channel.auth("blue"))
    assert other.status_code == 404
    bad_fir = channel.client.get("/v1/operations/op-b?format=notam&fir=lc", headers=channel.auth("blue"))
    assert bad_fir.status_code == 422
