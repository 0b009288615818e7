"""``POST /v1/operations/convert``: a plan file in any format the CLI reads, as the GeoJSON the API files."""

from __future__ import annotations

import json
from pathlib import Path

from deconflict.formats import read_plan
from deconflict.strategic.geojson import parse_features
from tests.api.conftest import Channel

DATA = Path(__file__).parents[1] / "data"
NOTAM = DATA / "notam" / "ulll_q1233_25_circle.txt"
F3548 = DATA / "f3548" / "dss_op_request_1.json"
GEOJSON = DATA / "good" / "blue.geojson"


def _convert(channel: Channel, path: Path, party: str = "blue", **query: str) -> dict[str, object]:
    response = channel.client.post(
        "/v1/operations/convert",
        content=path.read_bytes(),
        params={"name": path.name, **query},
        headers=channel.auth(party, content_type="application/octet-stream"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_notam_f3548_and_geojson_convert_as_the_cli_reads_them(channel: Channel) -> None:
    for path in (NOTAM, F3548, GEOJSON):
        converted = parse_features(_convert(channel, path), "response", "nobody")
        expected = read_plan(path, party="blue")
        assert [v.footprint.shape.bounds for v in converted] == [
            v.footprint.shape.bounds for v in expected
        ], path.name
        assert [(v.lower, v.upper, v.time_start_s, v.time_end_s) for v in converted] == [
            (v.lower, v.upper, v.time_start_s, v.time_end_s) for v in expected
        ]
        assert {v.party for v in converted} == {"blue"}


def test_converted_volumes_file_as_an_operation(channel: Channel) -> None:
    collection = _convert(channel, NOTAM, operation="from-notam")
    body = {"id": "from-notam", **collection}
    filed = channel.client.post("/v1/operations", json=body, headers=channel.auth("blue"))
    assert filed.status_code == 201, filed.text
    assert {f["properties"]["operation"] for f in filed.json()["operation"]["volumes"]["features"]} == {
        "from-notam"
    }
    # Nothing is filed by converting alone.
    listed = channel.client.get("/v1/operations", headers=channel.auth("blue")).json()
    assert [op["id"] for op in listed] == ["from-notam"]


def test_the_format_named_overrides_detection(channel: Channel) -> None:
    response = channel.client.post(
        "/v1/operations/convert",
        content=F3548.read_bytes(),
        params={"format": "notam", "name": "plan.json"},
        headers=channel.auth("blue"),
    )
    assert response.status_code == 422
    assert "plan.json" in response.text


def test_unreadable_uploads_are_refused_naming_the_file(channel: Channel) -> None:
    cases = {
        b"<kml></kml>": "KML",
        b'{"type": "Feature"}': "not a plan format",
        b"\xff\xfe{\x00": "UTF-8",
        b"{": "not valid JSON",
    }
    for content, said in cases.items():
        response = channel.client.post(
            "/v1/operations/convert",
            content=content,
            params={"name": "upload.x"},
            headers=channel.auth("blue"),
        )
        assert response.status_code == 422, content
        assert said in response.text and "upload.x" in response.text, response.text


def test_a_geojson_naming_another_party_is_refused(channel: Channel) -> None:
    red = json.loads((DATA / "good" / "red.geojson").read_text())
    response = channel.client.post(
        "/v1/operations/convert",
        content=json.dumps(red).encode(),
        headers=channel.auth("blue"),
    )
    assert response.status_code == 422
    assert "a party files only its own plans" in response.text


def test_converting_needs_a_party(channel: Channel) -> None:
    response = channel.client.post("/v1/operations/convert", content=NOTAM.read_bytes())
    assert response.status_code == 401


def test_geographical_zones_convert_to_the_callers_volumes(channel: Channel) -> None:
    zones = DATA / "zones" / "levant_ed269.json"
    converted = parse_features(_convert(channel, zones, format="ed269"), "response", "nobody")
    assert converted and {v.party for v in converted} == {"blue"}
    assert len(converted) == len(read_plan(zones, party="blue"))
