"""The zone store contract, on both backends: zones kept whole, replaced and withdrawn by party and id;
a filing into a zone stores its conflict with the zone's facts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from deconflict.formats.zones import parse_zones
from deconflict.strategic import file_operation
from deconflict.strategic.zones import Zone, ZoneLayer, ZoneRestriction, applicable_windows
from deconflict.units import Altitude, AltitudeReference
from tests.builders import T0_S, box, volume
from tests.storage.backends import Backend

MSL = AltitudeReference.MSL
_DATA = Path(__file__).parents[1] / "data" / "zones"


def _levant(name: str) -> list:  # type: ignore[type-arg]
    path = _DATA / name
    return parse_zones(json.loads(path.read_text()), str(path))


def test_zones_round_trip_whole_on_both_backends(storage_backend: Backend) -> None:
    zones = _levant("levant_ed269.json") + _levant("levant_ed318.json")
    with storage_backend.store("zones") as store:
        store.publish("caa", zones[:4], T0_S)
        store.publish("army", zones[4:], T0_S + 1)
    with storage_backend.store("zones") as store:
        found = store.list_zones()
    assert [(p.party, p.zone.identifier) for p in found] == sorted(
        [("caa", z.identifier) for z in zones[:4]] + [("army", z.identifier) for z in zones[4:]]
    )
    by_key = {(p.party, p.zone.identifier): p for p in found}
    for party, zone in [("caa", z) for z in zones[:4]] + [("army", z) for z in zones[4:]]:
        back = by_key[(party, zone.identifier)].zone
        assert back.facts() == zone.facts()
        assert back.restriction is zone.restriction
        horizon = (T0_S, T0_S + 30 * 86_400.0)
        assert applicable_windows(back.applicability, *horizon) == applicable_windows(
            zone.applicability, *horizon
        )
        assert len(back.layers) == len(zone.layers)
        for got, want in zip(back.layers, zone.layers, strict=True):
            assert (got.lower, got.upper) == (want.lower, want.upper)
            assert got.footprint.shape.equals(want.footprint.shape)
            assert got.footprint.outer.equals(want.footprint.outer)
            assert got.footprint.radius_m == want.footprint.radius_m


def test_a_zone_is_replaced_and_withdrawn_by_its_party_and_identifier(storage_backend: Backend) -> None:
    first = _levant("levant_ed269.json")[0]
    with storage_backend.store("zones") as store:
        store.publish("caa", [first], T0_S)
        store.publish("army", [first], T0_S)
        store.publish("caa", [replace(first, message="Closed until further notice")], T0_S + 60)
        found = {(p.party, p.zone.identifier): p for p in store.list_zones()}
        assert len(found) == 2
        assert found[("caa", first.identifier)].zone.message == "Closed until further notice"
        assert found[("caa", first.identifier)].published_s == T0_S + 60
        assert found[("army", first.identifier)].zone.message == first.message
        assert store.withdraw("caa", first.identifier) is True
        assert store.withdraw("caa", first.identifier) is False
        assert store.withdraw("caa", "ghost") is False
        assert [(p.party, p.zone.identifier) for p in store.list_zones()] == [("army", first.identifier)]


def _zone(identifier: str, restriction: ZoneRestriction = ZoneRestriction.PROHIBITED) -> Zone:
    layer = ZoneLayer(box(36.0, 35.0, 36.2, 35.2), Altitude(0.0, MSL), Altitude(500.0, MSL))
    return Zone(identifier, "SYR", restriction, (layer,), name=f"Zone {identifier}", message="keep out")


def test_a_filing_into_a_zone_stores_a_conflict_with_its_authority_and_facts(
    storage_backend: Backend,
) -> None:
    zones = [
        ("caa", _zone("Z1")),
        ("caa", _zone("Z2", ZoneRestriction.NO_RESTRICTION)),
        ("blue", _zone("B1")),  # the filer's own zone
    ]
    plan = [volume("v1", "blue", box(36.1, 35.1, 36.3, 35.3), upper_m=300.0)]
    with storage_backend.store("operations") as store:
        filed = file_operation(store, "blue", "op-1", plan, zones=zones)
        (found,) = filed.conflicts
        assert (found.party_a, found.operation_a, found.a) == ("blue", "op-1", "v1")
        assert (found.party_b, found.operation_b, found.b) == ("caa", "zone/Z1", "Z1/0/0")
        assert found.zone is not None and json.loads(found.zone) == _zone("Z1").facts()
        (record,) = store.list_conflict_records("caa")
        assert record.id == filed.conflict_ids[0] and record.conflict == found
        # Amending supersedes it; the amendment meets the zones given then (none here).
        file_operation(store, "blue", "op-1", plan, replaces_version=1)
        assert store.list_conflict_records("blue") == []
