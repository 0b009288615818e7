"""Geographical zones published and withdrawn, each change recorded (the zone store shares the log's
transaction where the storage offers it).

Publishing and withdrawing change no conflict: operations already filed meet
the zones as published when their party next amends them
(:mod:`deconflict.channel.zones`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from deconflict.channel.audit import AuditKind, AuditLog, AuditRecord, canonical_json
from deconflict.channel.service.common import together
from deconflict.channel.zones import ZoneStore, check_zone_extent
from deconflict.errors import NotFoundError
from deconflict.strategic.limits import Limits
from deconflict.strategic.zones import Zone

__all__ = ["publish_zones", "withdraw_zone"]


def _document_sha256(document: object) -> str | None:
    try:
        return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
    except (TypeError, ValueError):
        return None


def publish_zones(
    zones_store: ZoneStore,
    audit: AuditLog,
    party: str,
    zones: Sequence[Zone],
    *,
    document: object,
    limits: Limits,
    now_s: float,
) -> list[str]:
    """Publish ``zones`` as ``party``'s (each replacing its zone of the same identifier); their identifiers.

    One ``zones_published`` entry, seen by the publisher, names the identifiers
    and the SHA-256 of the document's canonical JSON.

    Raises
    ------
    InputError
        If a zone covers a larger area than an operation may
        (:func:`~deconflict.channel.zones.check_zone_extent`): nothing is published.
    """
    check_zone_extent(zones, limits)
    identifiers = [z.identifier for z in zones]
    payload = {"zones": identifiers, "document_sha256": _document_sha256(document)}
    subjects = tuple(f"zone:{party}/{i}" for i in identifiers)
    with together(audit, zones_store):
        zones_store.publish(party, zones, now_s)
        audit.append([AuditRecord(party, AuditKind.ZONES_PUBLISHED, subjects, (party,), payload)], now_s)
    return identifiers


def withdraw_zone(zones_store: ZoneStore, audit: AuditLog, party: str, identifier: str, now_s: float) -> None:
    """Withdraw ``party``'s zone ``identifier``, with a ``zone_withdrawn`` entry.

    Raises
    ------
    NotFoundError
        If ``party`` publishes no zone ``identifier``.
    """
    with together(audit, zones_store):
        if not zones_store.withdraw(party, identifier):
            raise NotFoundError(f"party {party!r} publishes no zone {identifier!r}")
        record = AuditRecord(
            party, AuditKind.ZONE_WITHDRAWN, (f"zone:{party}/{identifier}",), (party,), {"zone": identifier}
        )
        audit.append([record], now_s)
