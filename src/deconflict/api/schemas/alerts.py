"""Bodies of ``GET /v1/alerts``: the caller's open alerts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from deconflict.channel.live import AlertView
from deconflict.channel.public_ids import PublicIds
from deconflict.strategic.conflicts import format_time

__all__ = ["AlertOut", "AlertsOut", "alerts_json"]


class AlertOut(BaseModel):
    """An alert from the caller's side.

    While the caller's own aircraft does not vouch for disclosure (``withheld``:
    ``probation`` or ``outside_plans``), the figures that would place the other
    aircraft are null; the alert, its level and the own aircraft are always there.

    A ``non_conformance`` alert (``kind``) is one aircraft outside all of its
    party's active plans: its owner sees ``own_id`` and ``own`` (no other
    party); a party whose conflict-relevant space it is in sees only
    ``other_party``, ``other_ref`` and ``other`` (where it is, never its id).
    The figures of closest approach are null in both.
    """

    id: str
    kind: Literal["separation", "non_conformance"] = Field(
        default="separation",
        description="separation: two parties' aircraft; non_conformance: one outside its party's plans",
    )
    level: Literal["advisory", "warning", "loss"]
    own_id: str | None = Field(description="the caller's aircraft (null: another party's stray)")
    other_party: str | None = Field(description="the other aircraft's party (null: the caller's own stray)")
    other_ref: str | None
    since: str
    time_to_loss_s: float | None
    time_to_cpa_s: float | None
    distance_cpa_m: float | None
    vertical_cpa_m: float | None
    own: tuple[float, float, float] | None = Field(
        description="[lon_deg, lat_deg, alt_m] (null: another party's stray)"
    )
    other: tuple[float, float, float] | None = Field(description="[lon_deg, lat_deg, alt_m], null: withheld")
    withheld: Literal["probation", "outside_plans"] | None = Field(
        default=None, description="why the other aircraft is not shown (null: it is)"
    )

    @classmethod
    def of(cls, view: AlertView, ids: PublicIds) -> AlertOut:
        """The response body of an alert (public ids)."""
        return cls(
            id=ids.ref(view.id),
            kind=view.kind.value,
            level=view.level.value,
            own_id=view.own_id,
            other_party=view.other_party,
            other_ref=None if view.other_ref is None else ids.ref(view.other_ref),
            since=format_time(view.since_s),
            time_to_loss_s=view.time_to_loss_s,
            time_to_cpa_s=view.time_to_cpa_s,
            distance_cpa_m=view.distance_cpa_m,
            vertical_cpa_m=view.vertical_cpa_m,
            own=view.own,
            other=view.other,
            withheld=None if view.withheld is None else view.withheld.value,
        )


class AlertsOut(BaseModel):
    """A page of the caller's open alerts, oldest first."""

    alerts: list[AlertOut]
    next: str | None = Field(
        default=None, description="pass as `after` for the next page; null: this is the last page"
    )
    previous: str | None = Field(
        default=None, description="pass as `before` for the page before; null: this is the first page"
    )


def alerts_json(views: Iterable[AlertView], ids: PublicIds) -> list[dict[str, Any]]:
    """:meth:`AlertOut.of` of each of ``views`` as JSON values (``model_dump(mode="json")``), without a model.

    For the events socket, where one dense cycle brings a party 100,000 alert
    changes: no model is validated per alert, and each public id and time text
    is worked out once per call (a cycle's alerts share their ids between both
    fields and, mostly, their start time).
    """
    refs: dict[str, str] = {}
    times: dict[float, str] = {}

    def ref_of(text: str) -> str:
        found = refs.get(text)
        if found is None:
            found = refs[text] = ids.ref(text)
        return found

    out = []
    for view in views:
        since = times.get(view.since_s)
        if since is None:
            since = times[view.since_s] = format_time(view.since_s)
        own, other, withheld = view.own, view.other, view.withheld
        out.append(
            {
                "id": ref_of(view.id),
                "kind": view.kind.value,
                "level": view.level.value,
                "own_id": view.own_id,
                "other_party": view.other_party,
                "other_ref": None if view.other_ref is None else ref_of(view.other_ref),
                "since": since,
                "time_to_loss_s": view.time_to_loss_s,
                "time_to_cpa_s": view.time_to_cpa_s,
                "distance_cpa_m": view.distance_cpa_m,
                "vertical_cpa_m": view.vertical_cpa_m,
                "own": None if own is None else list(own),
                "other": None if other is None else list(other),
                "withheld": None if withheld is None else withheld.value,
            }
        )
    return out
