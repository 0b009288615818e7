"""The disclosure ledger: every fact the channel gave one party about another, kept for its subject.

The parties are rivals. Whatever the channel tells a party about another one
(the overlap of a conflict with its plan, a foreign aircraft's state shown in
an alert) is recorded here, in the same transaction as the fact itself, so its
*subject* can read who learnt what about it, when, and why
(``GET /v1/disclosures``, ``deconflict disclosures list``).

Kinds
-----
``conflict``
    A conflict's facts (overlap region, altitude band, time window, area), given
    to the party on the other side when the conflict was found.
``alert``
    A foreign aircraft's state shown to a party in an alert (recorded by the
    live picture through the same :meth:`DisclosureLedger.record`).
``probe_alarm``
    Not a disclosure but a warning about them: a party withdrew an operation
    right after its filing revealed the subject's plans, or revealed them in a
    burst of filings (:func:`probe_alarms_on_withdrawal`, :func:`probe_alarm_on_burst`),
    or swept the live picture with aircraft that do not vouch
    (:func:`probe_alarm_on_sweep`, :class:`~deconflict.channel.gating.Sweep`).
    Each alarm is also pushed to the subject as a ``probe_alarm`` event.

Numbering
---------
Each subject's entries are numbered 1, 2, 3, ... on their own: a party's
ledger numbers count only what concerns it, never the channel's other activity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from deconflict.channel.gating import Sweep
from deconflict.strategic.conflicts import Conflict

__all__ = [
    "ALERT_FIELDS",
    "CONFLICT_FIELDS",
    "SWEEP_FIELDS",
    "Disclosure",
    "DisclosureKind",
    "DisclosureLedger",
    "LedgerEntry",
    "ProbeReason",
    "alert_disclosure",
    "conflict_disclosures",
    "probe_alarm_on_burst",
    "probe_alarm_on_sweep",
    "probe_alarms_on_withdrawal",
]

CONFLICT_FIELDS: tuple[str, ...] = ("overlap_bbox", "overlap_area", "altitude_band", "time_window")
"""What the other side of a conflict learns: where (the overlap), how much, how high and when."""

ALERT_FIELDS: tuple[str, ...] = ("position", "altitude", "velocity")
"""What a party is shown of another's aircraft in an alert (never its id, callsign or trail)."""

SWEEP_FIELDS: tuple[str, ...] = ("alert",)
"""What a sweep's aircraft learnt of the subject's: that alerts exist (their figures were withheld)."""


class DisclosureKind(StrEnum):
    """What kind of fact an entry records."""

    CONFLICT = "conflict"
    ALERT = "alert"
    PROBE_ALARM = "probe_alarm"


class ProbeReason(StrEnum):
    """Why a probe alarm was raised."""

    WITHDRAWN = "withdrawn"
    """The operation that revealed the subject's plans was withdrawn within ``probe_window_s``."""
    BURST = "burst"
    """``probe_burst_filings`` filings revealed the subject's plans within ``probe_window_s``."""
    SWEEP = "sweep"
    """``probe_sweep_aircraft`` aircraft not vouching met the subject's in alerts in ``probe_window_s``."""


@dataclass(frozen=True)
class Disclosure:
    """One fact given to ``recipient`` about ``subject`` (or an alarm about such facts).

    Attributes
    ----------
    kind
        A :class:`DisclosureKind`.
    subject
        The party the fact is about: the ledger it belongs to.
    recipient
        The party that learnt it.
    subject_ref
        What of the subject's it concerns, by the subject's own id: its operation
        and volume (``"op-17/v1"``), or its aircraft.
    fields
        Which facts were given (e.g. :data:`CONFLICT_FIELDS`); for an alarm, the
        facts the recipient had learnt.
    reason_ref
        Why: the conflict (``"conflict:12"``), the alert, or for an alarm the
        conflicts it is about (``"conflict:12,13"``).
    time_s
        When, seconds since the epoch.
    note
        For a probe alarm, its :class:`ProbeReason`; otherwise empty.
    """

    kind: DisclosureKind
    subject: str
    recipient: str
    subject_ref: str
    fields: tuple[str, ...]
    reason_ref: str
    time_s: float
    note: str = ""


@dataclass(frozen=True)
class LedgerEntry:
    """A disclosure as stored: ``number`` counts the subject's entries only (1, 2, ...)."""

    number: int
    disclosure: Disclosure


class DisclosureLedger(Protocol):
    """Where disclosures are kept (storage implements it)."""

    def record(self, disclosures: Sequence[Disclosure]) -> list[LedgerEntry]:
        """Store the disclosures (in the caller's transaction, where there is one); return them numbered."""
        ...

    def list_for(self, subject: str, limit: int, before: int | None = None) -> list[LedgerEntry]:
        """The newest ``limit`` entries of ``subject`` numbered below ``before``, oldest first."""
        ...

    def filings_revealing(
        self, subjects: Sequence[str], recipient: str, since_s: float, at_most: int
    ) -> dict[str, int]:
        """How many filings gave ``recipient`` conflict facts about each of ``subjects`` since ``since_s``.

        Filings are told apart by their time (one filing's disclosures share it);
        counting may stop at ``at_most``; a subject with none is left out.
        """
        ...

    def last_alarm_s(self, subject: str, recipient: str, note: str) -> float | None:
        """When the latest probe alarm about ``recipient`` with ``note`` went to ``subject``, or ``None``."""
        ...

    def conflicts_found_s(self, recipient: str, conflicts: Sequence[tuple[int, str]]) -> dict[int, float]:
        """When each conflict ``(id, subject)`` was disclosed to ``recipient`` (found), by id.

        Ids the ledger does not know are left out.
        """
        ...

    def close(self) -> None:
        """Release the ledger's resources."""
        ...


def conflict_disclosures(conflict: Conflict, conflict_id: int, now_s: float) -> list[Disclosure]:
    """What finding ``conflict`` tells each side about the other: one disclosure per side.

    Examples
    --------
    >>> c = Conflict("b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL",
    ...              1.0, (0.0, 0.0, 1.0, 1.0))
    >>> [(d.subject, d.recipient, d.subject_ref, d.reason_ref) for d in conflict_disclosures(c, 7, 5.0)]
    [('blue', 'red', 'op-b/b1', 'conflict:7'), ('red', 'blue', 'op-r/r1', 'conflict:7')]
    """
    reason = f"conflict:{conflict_id}"
    sides = (
        (conflict.party_a, conflict.party_b, f"{conflict.operation_a}/{conflict.a}"),
        (conflict.party_b, conflict.party_a, f"{conflict.operation_b}/{conflict.b}"),
    )
    return [
        Disclosure(DisclosureKind.CONFLICT, subject, recipient, ref, CONFLICT_FIELDS, reason, now_s)
        for subject, recipient, ref in sides
    ]


def alert_disclosure(
    subject: str, recipient: str, aircraft: str, fields: Sequence[str], alert_ref: str, now_s: float
) -> Disclosure:
    """What showing ``subject``'s aircraft to ``recipient`` in an alert discloses (for the live picture).

    Examples
    --------
    >>> d = alert_disclosure("red", "blue", "R-7", ("position", "altitude"), "alert:3", 10.0)
    >>> (d.kind, d.subject, d.recipient, d.subject_ref, d.fields, d.reason_ref)
    (<DisclosureKind.ALERT: 'alert'>, 'red', 'blue', 'R-7', ('position', 'altitude'), 'alert:3')
    """
    return Disclosure(DisclosureKind.ALERT, subject, recipient, aircraft, tuple(fields), alert_ref, now_s)


def _alarm(
    subject: str, prober: str, found: Sequence[tuple[int, Conflict]], reason: ProbeReason, now_s: float
) -> Disclosure:
    refs = sorted(
        {
            f"{c.operation_a}" if c.party_a == subject else f"{c.operation_b}"
            for _, c in found
            if subject in (c.party_a, c.party_b)
        }
    )
    ids = ",".join(str(i) for i, _ in sorted(found, key=lambda f: f[0]))
    return Disclosure(
        DisclosureKind.PROBE_ALARM,
        subject,
        prober,
        ",".join(refs),
        CONFLICT_FIELDS,
        f"conflict:{ids}",
        now_s,
        str(reason),
    )


def probe_alarms_on_withdrawal(
    prober: str,
    conflicts: Iterable[tuple[int, Conflict]],
    found_s: Mapping[int, float],
    now_s: float,
    window_s: float,
) -> list[Disclosure]:
    """Alarms for ``prober`` withdrawing an operation whose conflicts were found less than ``window_s`` ago.

    One alarm per party on the other side, naming its operations and the
    conflicts that revealed them. Conflicts older than the window raise nothing:
    withdrawing a plan that stood for a while is ordinary.

    Parameters
    ----------
    conflicts
        ``(id, conflict)`` of the operation's open conflicts.
    found_s
        When each conflict was found, by id.

    Examples
    --------
    >>> c = Conflict("b1", "r1", "blue", "red", "op-b", "op-r", 0.0, 60.0, 0.0, 100.0, "MSL",
    ...              1.0, (0.0, 0.0, 1.0, 1.0))
    >>> [(a.subject, a.recipient, a.subject_ref, a.reason_ref, a.note)
    ...  for a in probe_alarms_on_withdrawal("blue", [(7, c)], {7: 100.0}, 130.0, 600.0)]
    [('red', 'blue', 'op-r', 'conflict:7', 'withdrawn')]
    >>> probe_alarms_on_withdrawal("blue", [(7, c)], {7: 100.0}, 800.0, 600.0)
    []
    """
    recent: dict[str, list[tuple[int, Conflict]]] = {}
    for conflict_id, conflict in conflicts:
        if now_s - found_s.get(conflict_id, float("-inf")) >= window_s:
            continue
        other = conflict.party_b if conflict.party_a == prober else conflict.party_a
        recent.setdefault(other, []).append((conflict_id, conflict))
    return [
        _alarm(subject, prober, found, ProbeReason.WITHDRAWN, now_s)
        for subject, found in sorted(recent.items())
    ]


def probe_alarm_on_burst(
    ledger: DisclosureLedger,
    prober: str,
    found: Sequence[tuple[int, Conflict]],
    now_s: float,
    window_s: float,
    burst_filings: int,
) -> list[Disclosure]:
    """Alarms to the parties whose plans the filings of ``prober`` revealed often within ``window_s``.

    Often: ``burst_filings`` filings (this one included).

    Call it once the filing's own disclosures are recorded. At most one burst
    alarm per prober and subject per window.
    """
    by_subject: dict[str, list[tuple[int, Conflict]]] = {}
    for conflict_id, conflict in found:
        other = conflict.party_b if conflict.party_a == prober else conflict.party_a
        by_subject.setdefault(other, []).append((conflict_id, conflict))
    alarms = []
    since_s = now_s - window_s
    counts = ledger.filings_revealing(sorted(by_subject), prober, since_s, burst_filings)
    for subject, revealing in sorted(by_subject.items()):
        if counts.get(subject, 0) < burst_filings:
            continue
        last_s = ledger.last_alarm_s(subject, prober, str(ProbeReason.BURST))
        if last_s is not None and last_s > since_s:
            continue
        alarms.append(_alarm(subject, prober, revealing, ProbeReason.BURST, now_s))
    return alarms


def probe_alarm_on_sweep(sweep: Sweep) -> Disclosure:
    """The alarm to the subject of a sweep of the live picture (at most one per prober and window).

    ``subject_ref`` names the subject's aircraft the sweep met, ``reason_ref``
    how many of the prober's aircraft took part (never their ids).

    Examples
    --------
    >>> a = probe_alarm_on_sweep(Sweep("blue", "red", 42, ("R1", "R2"), 100.0))
    >>> (a.subject, a.recipient, a.subject_ref, a.fields, a.reason_ref, a.note)
    ('red', 'blue', 'R1,R2', ('alert',), 'sweep:42 aircraft', 'sweep')
    """
    return Disclosure(
        DisclosureKind.PROBE_ALARM,
        sweep.subject,
        sweep.prober,
        ",".join(sweep.subject_ids),
        SWEEP_FIELDS,
        f"sweep:{sweep.aircraft} aircraft",
        sweep.time_s,
        str(ProbeReason.SWEEP),
    )
