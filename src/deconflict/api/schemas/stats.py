"""Bodies of ``GET /v1/stats``: the caller's statistics by month and pair."""

from __future__ import annotations

from pydantic import BaseModel, Field

from deconflict.channel.stats import ChannelStats, PairStats

__all__ = ["StatsConflictsOut", "StatsMonthOut", "StatsOut", "StatsPairOut"]


class StatsConflictsOut(BaseModel):
    """Conflicts of a pair detected in a month, by the lifecycle state they are in now."""

    open: int
    acknowledged: int
    resolved: int
    accepted: int


class StatsPairOut(BaseModel):
    """One month of one pair of parties, one of which is the caller."""

    parties: tuple[str, str] = Field(description="the two parties, sorted")
    messages: int = Field(description="messages between them, both directions, sent in the month")
    ack_median_s: float | None = Field(description="median seconds from sent to accepted or disputed")
    ack_p95_s: float | None = Field(description="95th percentile of the same (linear interpolation)")
    overdue: int = Field(description="messages that missed their reply-by deadline")
    conflicts: StatsConflictsOut
    alerts: int
    incidents: int

    @classmethod
    def of(cls, pair: PairStats) -> StatsPairOut:
        """The response body of a pair's month."""
        c = pair.conflicts
        return cls(
            parties=pair.parties,
            messages=pair.messages,
            ack_median_s=pair.ack_median_s,
            ack_p95_s=pair.ack_p95_s,
            overdue=pair.overdue,
            conflicts=StatsConflictsOut(
                open=c.open, acknowledged=c.acknowledged, resolved=c.resolved, accepted=c.accepted
            ),
            alerts=pair.alerts,
            incidents=pair.incidents,
        )


class StatsMonthOut(BaseModel):
    """One UTC month and the caller's pairs in it."""

    month: str = Field(description='"YYYY-MM", UTC', examples=["2026-11"])
    pairs: list[StatsPairOut]
    non_conformance: int = Field(
        default=0, description="non-conformance alerts of the caller's own aircraft raised in the month"
    )


class StatsOut(BaseModel):
    """The caller's channel statistics by month and pair (never of a pair it is not in)."""

    party: str
    months: list[StatsMonthOut]

    @classmethod
    def of(cls, stats: ChannelStats) -> StatsOut:
        """The response body of a party's statistics."""
        return cls(
            party=stats.party,
            months=[
                StatsMonthOut(
                    month=m.month,
                    pairs=[StatsPairOut.of(pair) for pair in m.pairs],
                    non_conformance=m.non_conformance,
                )
                for m in stats.months
            ],
        )
