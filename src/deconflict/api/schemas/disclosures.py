"""Bodies of ``GET /v1/disclosures``: the caller's disclosure ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from deconflict.channel.ledger import LedgerEntry
from deconflict.channel.public_ids import PublicIds
from deconflict.strategic.conflicts import format_time

__all__ = ["DisclosureOut"]


class DisclosureOut(BaseModel):
    """One fact the channel gave another party about the caller (an entry of its disclosure ledger).

    ``kind`` ``probe_alarm`` is a warning instead: ``recipient`` withdrew an
    operation right after it revealed the caller's plans (``note``
    ``withdrawn``), revealed them in a burst of filings (``burst``), or swept the
    live picture with aircraft that do not vouch (``sweep``: ``subject_ref`` the
    caller's aircraft they met, ``reason`` how many took part).
    """

    number: int = Field(description="the caller's own entry number (1, 2, ...: counts only its entries)")
    time: str = Field(description="RFC 3339 UTC time of the disclosure")
    kind: Literal["conflict", "alert", "probe_alarm"]
    recipient: str = Field(description="the party that learnt it")
    subject_ref: str = Field(description="what of the caller's it is about: operation/volume, or aircraft")
    fields: list[str] = Field(description="which facts were given, e.g. overlap_bbox, altitude_band")
    reason: str = Field(description="why: the conflict or alert, e.g. conflict:12")
    note: str = Field(default="", description="for a probe alarm: withdrawn, burst or sweep")

    @classmethod
    def of(cls, entry: LedgerEntry, ids: PublicIds) -> DisclosureOut:
        """The response body of a ledger entry (the ids in its reason public)."""
        d = entry.disclosure
        return cls(
            number=entry.number,
            time=format_time(d.time_s),
            kind=str(d.kind),  # type: ignore[arg-type]
            recipient=d.recipient,
            subject_ref=d.subject_ref,
            fields=list(d.fields),
            reason=ids.ref(d.reason_ref),
            note=d.note,
        )
