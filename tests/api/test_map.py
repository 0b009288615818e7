"""``GET /v1/map/overlays``: the deployment's overlay files, the same for every party, behind the token;
a bad overlay file stops the app (and ``deconflict serve``) at start, naming file, feature and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deconflict.api import create_app
from deconflict.config import Settings
from deconflict.demo.scenario import demo_overlays_path
from deconflict.errors import InputError
from tests.api.conftest import Channel
from tests.cli.conftest import run_cli


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    return {"map_overlays": (demo_overlays_path(),)}


def test_every_party_gets_the_same_overlays(channel: Channel) -> None:
    bodies = []
    for party in ("blue", "red", "green"):
        answer = channel.client.get("/v1/map/overlays", headers=channel.auth(party))
        assert answer.status_code == 200, answer.text
        bodies.append(answer.content)
    assert bodies[0] == bodies[1] == bodies[2]
    (overlay,) = json.loads(bodies[0])["overlays"]
    assert overlay["type"] == "FeatureCollection"
    assert (overlay["name"], overlay["file"]) == ("Euphrates demo overlays", "euphrates.geojson")
    names = {f["properties"]["name"]: f for f in overlay["features"]}
    line = names["Euphrates deconfliction line"]
    assert line["properties"]["kind"] == "line"
    assert line["geometry"]["coordinates"][0] == [38.01, 36.82]
    assert names["FIR boundary"]["properties"]["style"]["dash"] == "12 4 2 4"
    assert str(demo_overlays_path().parent) not in bodies[0].decode()  # the file's name, never its path


def test_overlays_need_a_token(channel: Channel) -> None:
    assert channel.client.get("/v1/map/overlays").status_code == 401
    assert channel.client.get("/v1/map/overlays", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_no_overlays_configured_is_an_empty_list(tmp_path: Path) -> None:
    from tests.api.conftest import open_channel

    with open_channel(Settings(db_path=tmp_path / "c.db"), "blue") as channel:
        answer = channel.client.get("/v1/map/overlays", headers=channel.auth("blue"))
    assert answer.json() == {"overlays": []}


def _bad_overlay(tmp_path: Path) -> Path:
    path = tmp_path / "lines.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name": "R-9", "kind": "danger"},
        "geometry": {"type": "Point", "coordinates": [38.0, 35.0]},
    }
    good = {**feature, "properties": {"name": "P", "kind": "line"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, feature]}))
    return path


def test_a_bad_overlay_file_stops_the_app_at_start(tmp_path: Path) -> None:
    bad = _bad_overlay(tmp_path)
    with pytest.raises(InputError) as raised:
        create_app(Settings(db_path=tmp_path / "c.db", map_overlays=(demo_overlays_path(), bad)))
    assert str(raised.value) == (
        f'{bad}: feature 1 (R-9): properties.kind: must be one of line, airway, restricted, fir; got "danger"'
    )


def test_serve_refuses_a_bad_overlay_before_touching_the_database(tmp_path: Path) -> None:
    bad = _bad_overlay(tmp_path)
    db = tmp_path / "c.db"
    done = run_cli("serve", "--db", str(db), "--init", "--port", "0", "--overlay", str(bad))
    assert done.returncode == 2, done.stderr
    assert f"{bad}: feature 1 (R-9): properties.kind: must be one of" in done.stderr
    assert not db.exists()
    env_set = run_cli(
        "serve",
        "--db",
        str(db),
        "--init",
        "--port",
        "0",
        env={**_env(), "DECONFLICT_MAP_OVERLAYS": json.dumps([str(bad)])},
    )
    assert env_set.returncode == 2
    assert f"{bad}: feature 1 (R-9): properties.kind" in env_set.stderr
    assert not db.exists()


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
