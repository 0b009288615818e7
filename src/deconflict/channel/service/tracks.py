"""The live picture's detection cycle: incidents opened and closed, alerts, disclosures; recorded, pushed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deconflict.channel.audit import SERVER, AuditKind, AuditLog, AuditRecord
from deconflict.channel.cluster import Lease
from deconflict.channel.events import Event, EventKind, EventSink
from deconflict.channel.ledger import (
    ALERT_FIELDS,
    DisclosureLedger,
    LedgerEntry,
    ProbeReason,
    alert_disclosure,
    probe_alarm_on_sweep,
)
from deconflict.channel.live import (
    AlertBatch,
    AlertNotice,
    AlertState,
    CycleChanges,
    Incident,
    IncidentBatch,
    IncidentNotice,
    IncidentState,
    IncidentStore,
    LivePicture,
)
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.channel.service.common import (
    alarm_events,
    present,
    publish_events,
    record_events,
    together,
)

__all__ = ["run_tactical_cycle"]


def _incident_payload(incident: Incident, ids: PublicIds) -> dict[str, Any]:
    # Seen by both sides: the parties, times and closest approach; never either aircraft's id. The
    # closest approach only when neither side's view of it is withheld (one entry serves both).
    c = incident.closest
    closest: dict[str, Any] = {"time_s": c.time_s}
    if not incident.withheld:
        closest |= {
            "distance_m": c.distance_m,
            "vertical_m": c.vertical_m,
            "lon_deg": c.lon_deg,
            "lat_deg": c.lat_deg,
            "alt_m": c.alt_m,
        }
    return {
        "incident_id": ids.public(IdKind.INCIDENT, incident.id),
        "parties": list(incident.parties),
        "started_s": incident.started_s,
        "ended_s": incident.ended_s,
        "closest": closest,
        "withheld": list(incident.withheld),
    }


def _incident_record(kind: AuditKind, incident: Incident, ids: PublicIds) -> AuditRecord:
    subject = (f"incident:{ids.public(IdKind.INCIDENT, incident.id)}",)
    return AuditRecord(SERVER, kind, subject, incident.parties, _incident_payload(incident, ids))


def run_tactical_cycle(
    live: LivePicture,
    incidents: IncidentStore,
    audit: AuditLog,
    now_s: float,
    events: EventSink | None = None,
    ledger: DisclosureLedger | None = None,
    lease: Lease | None = None,
) -> CycleChanges:
    """Run one detection cycle of the live picture and record what it changed.

    Non-conformance alerts raised and cleared are logged with the alerts (the
    aircraft paired with itself, :meth:`~deconflict.channel.live.conformance.NonConformance.as_logged`),
    each party newly told of a stray is a disclosure in the owner's ledger, and
    the owner and each party whose space the stray is in hear of it in their
    ``alerts`` events. Incidents opened and closed are recorded with their ``incident_recorded`` /
    ``incident_closed`` entries (both sides in the audience, no aircraft ids),
    closer approaches and the alert log are stored, all in one transaction
    where the storage offers it; given a ``ledger``, so is each foreign aircraft
    newly shown to a party in an alert, in its owner's ledger, and each sweep
    the cycle saw raises a probe alarm to the party swept (at most one per
    prober and window, also across restarts: the ledger is asked). Then each
    side hears, from its own point of view, of new, changed and cleared alerts
    and of opened and closed incidents, and the swept party of its alarm: all
    of a party's alert changes of the cycle in one ``alerts`` event, the most
    urgent first (:class:`~deconflict.channel.live.AlertBatch`), and its
    incidents opened and closed in one ``incident`` event (:class:`~deconflict.channel.live.IncidentBatch`).

    Given the scheduler's ``lease`` (:mod:`deconflict.channel.cluster`), what the
    cycle found is recorded only while this node holds it, checked in the same
    transaction (:class:`~deconflict.channel.cluster.LeaseLostError` otherwise,
    and nothing is recorded or pushed).
    """
    changes = live.cycle(now_s)
    closed: list[Incident] = []
    alarms: list[LedgerEntry] = []
    touched = changes.opened or changes.closer or changes.closed
    shown = changes.shown if ledger is not None else ()
    sweeps = changes.sweeps if ledger is not None else ()
    strayed = changes.new_strays or changes.moved_strays or changes.cleared_strays
    alerted = changes.new_alerts or changes.changed_alerts or changes.cleared_alerts or strayed
    pending: list[Event] = []
    if touched or alerted or shown or sweeps:
        with together(audit, *present(incidents, ledger)):
            if lease is not None:
                lease.fence()
            if ledger is not None and sweeps:
                since_s = now_s - live.settings.gating.sweep_window_s
                last_s = {s: ledger.last_alarm_s(s.subject, s.prober, str(ProbeReason.SWEEP)) for s in sweeps}
                due = [s for s, last in last_s.items() if last is None or last <= since_s]
                alarms = ledger.record([probe_alarm_on_sweep(s) for s in due])
            if ledger is not None and shown:
                ledger.record(
                    [
                        alert_disclosure(
                            s.subject_party, s.party, s.subject_id, ALERT_FIELDS, f"alert:{s.ref}", now_s
                        )
                        for s in shown
                    ]
                )
            if changes.opened:
                incidents.record_opened(changes.opened)
            if changes.closer:
                incidents.record_closest(changes.closer)
            closed = [incidents.record_closed(i) for i in changes.closed]
            incidents.log_alerts(
                changes.new_alerts + tuple(s.as_logged() for s in changes.new_strays),
                changes.cleared_alerts + tuple(s.as_logged() for s in changes.cleared_strays),
            )
            ids = audit.public_ids
            records = [_incident_record(AuditKind.INCIDENT_RECORDED, i, ids) for i in changes.opened]
            records += [_incident_record(AuditKind.INCIDENT_CLOSED, i, ids) for i in closed]
            if records:
                audit.append(records, now_s)
            pending = record_events(events, _cycle_events(changes, closed, alarms, now_s))
    publish_events(events, pending)
    return changes


def _cycle_events(
    changes: CycleChanges, closed: Sequence[Incident], alarms: Sequence[LedgerEntry], now_s: float
) -> list[Event]:
    """Each side's alert changes of the cycle as one event, its incidents opened and closed as one, alarms."""
    alert_changes = (
        (AlertState.NEW, changes.new_alerts),
        (AlertState.UPDATE, changes.changed_alerts),
        (AlertState.CLEARED, changes.cleared_alerts),
    )
    notices: dict[str, list[AlertNotice]] = {}
    for state, alerts in alert_changes:
        for alert in alerts:
            for side in alert.parties:
                notices.setdefault(side, []).append(AlertNotice(state, alert.view_for(side)))
    for stray_state, strays in (
        (AlertState.NEW, changes.new_strays),
        (AlertState.CLEARED, changes.cleared_strays),
    ):
        for stray in strays:
            for side in stray.parties:
                notices.setdefault(side, []).append(AlertNotice(stray_state, stray.view_for(side)))
    for before, after in changes.moved_strays:
        # Only the parties whose space it entered or left hear of it; the owner's view is unchanged.
        for side in set(after.entered) - set(before.entered):
            notices.setdefault(side, []).append(AlertNotice(AlertState.NEW, after.view_for(side)))
        for side in set(before.entered) - set(after.entered):
            notices.setdefault(side, []).append(AlertNotice(AlertState.CLEARED, before.view_for(side)))
    incident_changes = ((IncidentState.OPENED, changes.opened), (IncidentState.CLOSED, tuple(closed)))
    told: dict[str, list[IncidentNotice]] = {}
    for incident_state, found in incident_changes:
        for incident in found:
            for side in incident.parties:
                told.setdefault(side, []).append(IncidentNotice(incident_state, incident.view_for(side)))
    return (
        [
            Event(EventKind.ALERTS, side, AlertBatch.of(now_s, found))
            for side, found in sorted(notices.items())
        ]
        + [
            Event(EventKind.INCIDENT, side, IncidentBatch(now_s, tuple(found)))
            for side, found in sorted(told.items())
        ]
        + alarm_events(alarms)
    )
