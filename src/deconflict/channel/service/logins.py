"""Failed logins recorded: why, and a hash of what was presented; many from one source counted in one entry.

A failed login changes nothing but the log: its entry is one commit.
"""

from __future__ import annotations

from typing import Any

from deconflict.channel.audit import SERVER, AuditKind, AuditLog, AuditRecord
from deconflict.channel.logins import FailureCount, LoginFailures
from deconflict.channel.parties import PartyStore, hash_token

__all__ = ["record_counted_login_failures", "record_login_failure"]


def record_login_failure(
    audit: AuditLog,
    parties: PartyStore,
    authorization: str | None,
    token: str | None,
    now_s: float,
    *,
    source: str | None = None,
    failures: LoginFailures | None = None,
) -> float | None:
    """Record a failed authentication: why, and the SHA-256 of what was presented (never the token).

    Parameters
    ----------
    authorization
        The ``Authorization`` header as received, or ``None`` when there was none.
    token
        The bearer token in it, or ``None`` when the header is not ``Bearer <token>``.
    source
        Where the request came from (the client's address), recorded with the entry.
    failures
        Given, failures are aggregated (:class:`~deconflict.channel.logins.LoginFailures`):
        the first of a source's window is recorded at once, the others as one
        entry with their ``count`` once the window has passed.

    Returns
    -------
    float or None
        Seconds the source should wait (it is over its failure rate), else ``None``.
    """
    audience: tuple[str, ...] = ()
    if authorization is None:
        reason, presented = "no Authorization header", None
    elif token is None:
        reason, presented = "malformed Authorization header (expected 'Bearer <token>')", authorization
    else:
        presented = token
        found = parties.party_for_token(hash_token(token))
        previous = parties.party_for_previous_token(hash_token(token)) if found is None else None
        if previous is not None:
            reason = f"token of party {previous[0].name!r} rotated out (its grace period has ended)"
            audience = (previous[0].name,)
        elif found is None:
            reason = "unknown token"
        else:
            reason = f"token of revoked party {found[0].name!r}"
            audience = (found[0].name,)
    payload: dict[str, Any] = {
        "reason": reason,
        "presented_sha256": None if presented is None else hash_token(presented),
    }
    if source is not None:
        payload["source"] = source
    if failures is None:
        audit.append([AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), audience, payload)], now_s)
        return None
    record_now, retry_after_s, due = failures.failed(source or "unknown", reason, audience, now_s)
    records = [_failure_count_record(c) for c in due]
    if record_now:
        records.append(AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), audience, {**payload, "count": 1}))
    if records:
        audit.append(records, now_s)
    return retry_after_s


def _failure_count_record(counted: FailureCount) -> AuditRecord:
    payload = {
        "reason": counted.reason,
        "presented_sha256": None,
        "source": counted.source,
        "count": counted.count,
        "first_s": counted.first_s,
        "last_s": counted.last_s,
    }
    return AuditRecord(SERVER, AuditKind.LOGIN_FAILED, (), counted.audience, payload)


def record_counted_login_failures(audit: AuditLog, failures: LoginFailures, now_s: float) -> None:
    """Record every counted failure not recorded yet (at shutdown: the windows still open too)."""
    records = [_failure_count_record(c) for c in failures.due(now_s, everything=True)]
    if records:
        audit.append(records, now_s)
