"""The zone store contract, on both backends: zones kept whole, replaced and withdrawn by party and id."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from deconflict.formats.zones import parse_zones
from deconflict.strategic.zones import applicable_windows
from tests.builders import T0_S
from tests.storage.backends import Backend

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
