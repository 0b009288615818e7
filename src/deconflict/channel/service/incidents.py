"""Comments on incidents: each side's account, recorded for both sides and pushed to them."""

from __future__ import annotations

from deconflict.channel.audit import AuditKind, AuditLog, AuditRecord
from deconflict.channel.events import Event, EventKind, EventSink
from deconflict.channel.live import CommentNotice, IncidentComment, IncidentStore, new_comment
from deconflict.channel.public_ids import IdKind
from deconflict.channel.service.common import publish_events, record_events, together
from deconflict.errors import NotFoundError

__all__ = ["comment_on_incident"]


def comment_on_incident(
    incidents: IncidentStore,
    audit: AuditLog,
    party: str,
    incident_id: int,
    text: str,
    now_s: float,
    events: EventSink | None = None,
) -> IncidentComment:
    """``party`` adds a comment to an incident's thread; recorded (with its text) for both sides.

    Raises
    ------
    NotFoundError
        If there is no such incident, or none of ``party``'s aircraft is in it.
    InputError
        An empty or too long comment (:func:`~deconflict.channel.live.new_comment`).
    """
    comment = new_comment(party, text, now_s)
    with together(audit, incidents):
        incident = incidents.get_incident(incident_id)
        if incident is None or not incident.involves(party):
            raise NotFoundError(f"no incident {incident_id} for party {party!r}")
        incidents.add_comment(incident_id, comment)
        shown = audit.public_ids.public(IdKind.INCIDENT, incident_id)
        payload = {"incident_id": shown, "party": party, "text": comment.text}
        record = AuditRecord(
            party, AuditKind.INCIDENT_COMMENTED, (f"incident:{shown}",), incident.parties, payload
        )
        audit.append([record], now_s)
        pending = record_events(
            events,
            [
                Event(EventKind.INCIDENT_COMMENT, side, CommentNotice(incident_id, comment))
                for side in incident.parties
            ],
        )
    publish_events(events, pending)
    return comment
