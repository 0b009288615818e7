"""A detection cycle's incidents, alert log and audit entries commit together: one transaction per cycle."""

from __future__ import annotations

from pathlib import Path

from deconflict.channel.gating import GatingSettings
from deconflict.channel.live import LivePicture, LiveSettings, TrackState
from deconflict.channel.service.tracks import run_tactical_cycle
from deconflict.storage import open_storage

T0_S = 1_790_000_000.0


def test_a_cycle_opening_many_incidents_commits_once(tmp_path: Path) -> None:
    live = LivePicture(LiveSettings(gating=GatingSettings(probation_s=0.0)))
    # Twelve pairs of blue and red aircraft 2 km apart at one level: twelve losses of separation at once.
    for k in range(12):
        lat_deg = 0.5 * k
        live.post("blue", [TrackState(f"B{k}", "", T0_S, lat_deg, 0.0, 3000.0, 100.0, 90.0, 0.0)], T0_S)
        live.post("red", [TrackState(f"R{k}", "", T0_S, lat_deg, 0.018, 3000.0, 100.0, 270.0, 0.0)], T0_S)
    with open_storage(tmp_path / "channel.db") as storage:
        commits: list[str] = []
        storage.database.connection.set_trace_callback(
            lambda sql: commits.append(sql) if sql == "COMMIT" else None
        )
        changes = run_tactical_cycle(live, storage.incidents, storage.audit, T0_S, None, storage.ledger)
        storage.database.connection.set_trace_callback(None)
        assert len(changes.opened) == 12 and len(changes.new_alerts) == 12
        assert commits == ["COMMIT"]  # the incidents, their audit entries and the alert log together
        assert len(storage.incidents.open_incidents()) == 12
        recorded = [e for e in storage.audit.entries() if e.kind == "incident_recorded"]
        assert len(recorded) == 12
