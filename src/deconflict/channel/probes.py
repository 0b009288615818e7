"""The rules that tell a probe of other parties' plans from ordinary filing."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProbeRules"]


@dataclass(frozen=True)
class ProbeRules:
    """When filings look like probes of other parties' plans (:mod:`deconflict.channel.ledger`).

    A withdrawal less than ``window_s`` after the operation's conflicts were
    found, or ``burst_filings`` filings revealing one party's plans within
    ``window_s``, raise a probe alarm to that party.
    """

    window_s: float = 600.0
    burst_filings: int = 10
