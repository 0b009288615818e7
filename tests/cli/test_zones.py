"""``deconflict zones publish|list|withdraw`` through the client, and ``ops file`` into a published zone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.cli import _COMMANDS, main
from deconflict.client import ChannelError
from deconflict.errors import InputError
from tests.api.conftest import Channel, blue_plan, forbidden_strings
from tests.api.test_zones import zone
from tests.cli.conftest import run_client
from tests.cli.test_ops import _plan_file, run_json

_DATA = Path(__file__).parents[1] / "data" / "zones"


def _zone_file(tmp_path: Path, *zones: dict[str, object]) -> str:
    path = tmp_path / "zones.json"
    path.write_text(json.dumps({"features": list(zones)}))
    return str(path)


def test_the_command_is_registered() -> None:
    assert _COMMANDS["zones"] == ("zones", "run_zones")


def test_publish_list_and_withdraw(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_client(channel, "red", "zones", "publish", str(_DATA / "levant_ed318.json")) == 0
    assert "published" in capsys.readouterr().out
    published = run_json(channel, "red", capsys, "zones", "publish", str(_DATA / "levant_ed269.json"))
    assert published == {"published": ["LX001", "LX002", "LX003", "LX004"]}
    assert run_client(channel, "green", "zones", "list") == 0
    table = capsys.readouterr().out
    assert "Zones" in table and "LX001" in table and "red" in table
    listed = run_json(channel, "blue", capsys, "zones", "list")
    assert {("red", "LX001"), ("red", "LX004")} <= {(z["party"], z["identifier"]) for z in listed}
    # No upper limit (100 km above mean sea level): a zone's band is not bounded as an operation's is.
    assert run_client(channel, "green", "zones", "publish", str(_DATA / "deviations_ed269.json")) == 0
    assert run_client(channel, "red", "zones", "withdraw", "LX004") == 0
    assert "withdrew zone LX004" in capsys.readouterr().out
    assert "LX004" not in {z["identifier"] for z in run_json(channel, "red", capsys, "zones", "list")}
    with pytest.raises(ChannelError, match="404"):
        run_client(channel, "blue", "zones", "withdraw", "LX001")


def test_a_bad_zone_file_is_refused_naming_the_file_and_field(channel: Channel, tmp_path: Path) -> None:
    bad = str(_DATA / "bad_zones_ed269.json")
    with pytest.raises(
        InputError, match=r"bad_zones_ed269.json: feature 0 .LX001.: geometry.0..upperVerticalReference"
    ):
        run_client(channel, "red", "zones", "publish", bad)
    plan = _plan_file(tmp_path, "blue.geojson", blue_plan())
    with pytest.raises(InputError, match=r"blue\.geojson"):
        run_client(channel, "red", "zones", "publish", plan)
    huge = _zone_file(tmp_path, zone("RZ002", box=(20.0, 20.0, 60.0, 60.0)))
    with pytest.raises(InputError, match=r"zones\.json.*max_operation_area_km2"):
        run_client(channel, "red", "zones", "publish", huge)


def test_filing_into_a_zone_shows_the_zone_to_the_filer(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_client(channel, "red", "zones", "publish", _zone_file(tmp_path, zone("RZ001"))) == 0
    capsys.readouterr()
    plan = _plan_file(tmp_path, "blue.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", plan, "--id", "op-1") == 1
    out = capsys.readouterr().out
    assert "Conflicts found" in out and "Zones entered" in out
    for shown in ("RZ001", "Range RZ001", "prohibited", "range firing", "uas@lcaa.example"):
        assert shown in out
    assert run_client(channel, "red", "conflicts", "list") == 0
    seen = capsys.readouterr().out
    assert "zone/RZ001" in seen and "blue" in seen
    assert not [s for s in forbidden_strings() if s in seen]


def test_the_audit_chain_with_zones_and_their_conflicts_verifies(
    channel: Channel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_client(channel, "red", "zones", "publish", _zone_file(tmp_path, zone("RZ001"))) == 0
    plan = _plan_file(tmp_path, "blue.geojson", blue_plan())
    assert run_client(channel, "blue", "ops", "file", plan, "--id", "op-1") == 1
    assert run_client(channel, "blue", "ops", "file", plan, "--id", "op-1", "--replaces", "1") == 1
    assert run_client(channel, "red", "zones", "withdraw", "RZ001") == 0
    db, key = tmp_path / "channel.db", tmp_path / "server.pub.pem"
    assert main(["audit", "key", "--db", str(db), "--out", str(key)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--db", str(db), "--key", str(key)]) == 0, capsys.readouterr()
