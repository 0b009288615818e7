"""A blind session end to end in memory: what each party learns, what the messages show,
and that every fault aborts."""

from __future__ import annotations

import base64
import dataclasses
import struct
from collections.abc import Sequence

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.blind.cover import cover_volumes
from deconflict.blind.grid import GridParameters
from deconflict.blind.protocol import BlindParty, BlindResult, Envelope, Phase
from deconflict.blind.psi import hash_cells
from deconflict.errors import BlindSessionError
from deconflict.strategic.conflicts import find_conflicts
from deconflict.strategic.volume import Volume
from tests.blind.strategies import volume_with
from tests.builders import T0_S, box, circle

PARAMS = GridParameters("session-1", cell_deg=0.05, slot_s=900.0, band_m=300.0, cap=2048)
BLUE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
RED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def v(name: str, party: str, lon: float, lat: float, radius_m: float = 5_000.0, t0: float = 0.0) -> Volume:
    return volume_with(circle(lon, lat, radius_m), name, party, T0_S + t0, T0_S + t0 + 3600.0, 500.0, 1500.0)


def parties(
    blue: Sequence[Volume],
    red: Sequence[Volume],
    params: GridParameters = PARAMS,
    red_params: GridParameters | None = None,
) -> tuple[BlindParty, BlindParty]:
    a = BlindParty(params, "blue", "red", BLUE_KEY, RED_KEY.public_key(), cover_volumes(blue, params))
    rp = red_params or params
    b = BlindParty(rp, "red", "blue", RED_KEY, BLUE_KEY.public_key(), cover_volumes(red, rp))
    return a, b


def run(a: BlindParty, b: BlindParty) -> tuple[BlindResult, BlindResult, list[Envelope], list[Envelope]]:
    """The whole session; returns both results and what each party sent."""
    sent_a: list[Envelope] = []
    sent_b: list[Envelope] = []
    for phase in Phase:
        ea, eb = getattr(a, phase.value)(), getattr(b, phase.value)()
        sent_a.append(ea)
        sent_b.append(eb)
        ra = a.receive(eb.to_bytes())
        rb = b.receive(ea.to_bytes())
    assert ra is not None and rb is not None
    return ra, rb, sent_a, sent_b


BLUE = [
    v("b-near", "blue", 36.0, 35.0),
    v("b-far", "blue", 10.0, 50.0),
    v("b-later", "blue", 36.0, 35.0, t0=86_400.0),
]
RED = [v("r-near", "red", 36.05, 35.02), v("r-other", "red", -70.0, -30.0)]


def test_each_party_learns_exactly_its_own_conflicting_volumes() -> None:
    ra, rb, _, _ = run(*parties(BLUE, RED))
    assert [BLUE[i].id for i in ra.volumes.tolist()] == ["b-near"]
    assert [RED[i].id for i in rb.volumes.tolist()] == ["r-near"]
    # Both see the same cells: the shared ones.
    assert sorted(map(tuple, ra.cells.tolist())) == sorted(map(tuple, rb.cells.tolist()))
    conflicts = find_conflicts([*BLUE, *RED])
    assert {(c.a, c.b) for c in conflicts} == {("b-near", "r-near")}


def test_no_volumes_on_one_side_means_no_matches_for_either() -> None:
    ra, rb, _, _ = run(*parties([], RED))
    assert ra.volumes.size == 0 and rb.volumes.size == 0


def test_message_sizes_do_not_depend_on_how_many_volumes_a_party_has() -> None:
    many = [v(f"b-{k}", "blue", 20.0 + k * 0.3, 40.0) for k in range(8)]
    _, _, few_sent, _ = run(*parties(BLUE[:1], RED))
    _, _, many_sent, _ = run(*parties(many, RED))
    _, _, none_sent, _ = run(*parties([], RED))
    sizes = [[len(e.to_bytes()) for e in sent] for sent in (few_sent, many_sent, none_sent)]
    assert sizes[0] == sizes[1] == sizes[2]
    assert len(few_sent[1].body) == 12 + PARAMS.cap * 32 + 16


def test_moving_far_away_volumes_changes_nothing_the_other_party_learns() -> None:
    moved = [BLUE[0], v("b-far", "blue", -120.0, 10.0), BLUE[2]]
    _, rb_before, sent_before, _ = run(*parties(BLUE, RED))
    _, rb_after, sent_after, _ = run(*parties(moved, RED))
    assert rb_before.volumes.tolist() == rb_after.volumes.tolist()
    assert rb_before.cells.tolist() == rb_after.cells.tolist()
    assert [len(e.to_bytes()) for e in sent_before] == [len(e.to_bytes()) for e in sent_after]


def test_blinded_sets_look_fresh_every_session() -> None:
    # The same cover twice: no element repeats across sessions (fresh scalars, fresh padding).
    a1, b1 = parties(BLUE, RED)
    a2, b2 = parties(BLUE, RED)
    for a, b in ((a1, b1), (a2, b2)):
        a.receive(b.hello())
    assert a1.blinded().body != a2.blinded().body


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def tamper_body(e: Envelope) -> Envelope:
    return dataclasses.replace(e, body=flip(e.body, len(e.body) // 2))


def truncate(e: Envelope) -> Envelope:
    return dataclasses.replace(e, body=e.body[:-32])


def resign_truncated(e: Envelope) -> Envelope:
    # Even a validly signed short set (a party cheating on the cap) must not pass.
    short = dataclasses.replace(e, body=e.body[:-32], signature=b"")
    return dataclasses.replace(short, signature=RED_KEY.sign(short.signed_bytes()))


def bad_signature(e: Envelope) -> Envelope:
    return dataclasses.replace(e, signature=flip(e.signature, 3))


def other_session(e: Envelope) -> Envelope:
    return dataclasses.replace(e, session_id="session-2")


def swapped_parties(e: Envelope) -> Envelope:
    return dataclasses.replace(e, sender="blue", recipient="red")


def other_phase(e: Envelope) -> Envelope:
    return dataclasses.replace(e, phase=Phase.REBLINDED)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize(
    "change",
    [tamper_body, truncate, bad_signature, other_session, swapped_parties, other_phase, resign_truncated],
)
def test_any_altered_message_aborts_the_session(phase: Phase, change) -> None:  # type: ignore[no-untyped-def]
    a, b = parties(BLUE, RED)
    for step in Phase:
        ea, eb = getattr(a, step.value)(), getattr(b, step.value)()
        b.receive(ea)
        if step is phase:
            if change is other_phase and phase is Phase.REBLINDED:
                change = other_session
            with pytest.raises(BlindSessionError) as info:
                a.receive(change(eb))
            break
        a.receive(eb)
    assert a.failed is not None and a.result is None
    # Aborted for good: even the genuine message is refused now, never "no conflicts".
    with pytest.raises(BlindSessionError, match="aborted"):
        a.receive(eb)
    text = str(info.value)
    assert "36." not in text and "b-near" not in text


def test_a_replayed_message_aborts() -> None:
    a, b = parties(BLUE, RED)
    hello = b.hello()
    a.receive(hello)
    with pytest.raises(BlindSessionError, match="expected blinded"):
        a.receive(hello.to_bytes())
    assert a.failed is not None


def test_a_message_of_an_earlier_run_of_the_same_session_does_not_open() -> None:
    # Same session id, same keys, new run: the X25519 keys differ, so the old seal fails.
    a1, b1 = parties(BLUE, RED)
    a1.receive(b1.hello())
    b1.receive(a1.hello())
    stale = b1.blinded()
    a2, b2 = parties(BLUE, RED)
    a2.receive(b2.hello())
    with pytest.raises(BlindSessionError, match="does not open"):
        a2.receive(stale)


def test_parties_with_different_parameters_abort_at_hello() -> None:
    coarse = dataclasses.replace(PARAMS, cell_deg=0.1)
    a, b = parties(BLUE, RED, red_params=coarse)
    with pytest.raises(BlindSessionError, match="parameters differ"):
        a.receive(b.hello())


def test_malformed_json_aborts() -> None:
    a, _ = parties(BLUE, RED)
    with pytest.raises(BlindSessionError, match="malformed"):
        a.receive(b'{"v": 1, "session": "session-1"}')
    assert a.failed is not None


def test_invalid_group_elements_abort() -> None:
    a, b = parties(BLUE, RED)
    a.receive(b.hello())
    b.receive(a.hello())
    # A sealed set of the right length whose elements are not group elements.
    junk = b._seal(Phase.BLINDED, bytes([255]) * (PARAMS.cap * 32))
    with pytest.raises(BlindSessionError, match="not a valid group element"):
        a.receive(junk)


def test_more_cells_than_the_cap_is_refused_before_anything_is_sent() -> None:
    small = dataclasses.replace(PARAMS, cap=4)
    with pytest.raises(BlindSessionError, match="cap of 4"):
        cover_volumes(BLUE, small)


def test_results_never_miss_a_conflict_the_exact_engine_finds() -> None:
    rng = np.random.default_rng(7)
    blue = [
        v(f"b{k}", "blue", 36 + rng.uniform(0, 0.5), 35 + rng.uniform(0, 0.5), 2_000.0) for k in range(30)
    ]
    red = [
        volume_with(
            box(36 + x, 35 + y, 36 + x + 0.02, 35 + y + 0.02), f"r{k}", "red", T0_S, T0_S + 600, 0.0, 900.0
        )
        for k, (x, y) in enumerate(rng.uniform(0, 0.5, (30, 2)))
    ]
    ra, rb, _, _ = run(*parties(blue, red))
    conflicts = find_conflicts([*blue, *red])
    assert conflicts, "the scenario should have conflicts"
    assert {c.a for c in conflicts} <= {blue[i].id for i in ra.volumes.tolist()}
    assert {c.b for c in conflicts} <= {red[i].id for i in rb.volumes.tolist()}


def test_messages_carry_no_volume_id_coordinate_cell_or_cell_hash() -> None:
    # Planted canaries: what a relay stores is these envelopes, so none may appear in them.
    canary = [
        volume_with(
            circle(36.123457, 35.987653, 4_000.0), "CANARY-VOLUME-7f3a", "blue", T0_S, T0_S + 3600, 0, 900
        )
    ]
    a, b = parties(canary, RED)
    _, _, sent_a, _ = run(a, b)
    cover = cover_volumes(canary, PARAMS)
    cell_hashes = hash_cells(cover.cells, PARAMS.session_id)
    wire = b"".join(e.to_bytes() for e in sent_a)
    plain = b"".join(e.body for e in sent_a)
    for needle in [b"CANARY", b"7f3a", b"36.12", b"35.98", b"op-CANARY"]:
        assert needle not in wire
    for element in cell_hashes:
        assert element not in plain and base64.b64encode(element) not in wire
    for row in cover.cells.tolist():
        assert struct.pack(">4q", *row) not in plain
