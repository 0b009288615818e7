"""``/v1/tracks``, ``/v1/alerts``, ``/v1/incidents``: the live picture, as each party may see it.

A party posts its own aircraft states and reads its own tracks; of another
party's aircraft it sees position, altitude and velocity only while that
aircraft is in an alert or open incident with one of its own, and only while
its own aircraft vouches for it (plausible, past its probation, where its
party may cause disclosure: see :mod:`deconflict.channel.gating`). An
incident the caller is not involved in is not found (404), never forbidden.

Detection runs in the background (:func:`run_cycles`), every
``tactical_cycle_s``, over all parties' latest states.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import Message

from deconflict.api.deps import (
    AuditDep,
    CurrentParty,
    EventsDep,
    IncidentRow,
    Now,
    PublicIdsDep,
    Services,
    SettingsDep,
    current_party,
)
from deconflict.api.schemas.alerts import AlertOut, AlertsOut
from deconflict.api.schemas.common import COMMON_RESPONSES, ErrorOut, ProblemsOut
from deconflict.api.schemas.incidents import IncidentCommentIn, IncidentCommentOut, IncidentOut, IncidentsOut
from deconflict.api.schemas.operations import DOWNLOAD_MEDIA_TYPES
from deconflict.api.schemas.tracks import (
    OwnTrackOut,
    TracksAcceptedOut,
    TracksColumnsOut,
    TracksIn,
    TracksOut,
    decode_track_columns,
)
from deconflict.channel.cluster import LeaseLostError, TrackPosts
from deconflict.channel.live import IncidentStore, LivePicture, LiveSettings, StateColumns
from deconflict.channel.public_ids import NO_ROW, IdKind, PublicIds
from deconflict.channel.service.incidents import comment_on_incident
from deconflict.channel.service.tracks import run_tactical_cycle
from deconflict.config import Settings
from deconflict.errors import InputError, NotFoundError, Problem, StorageUnavailableError
from deconflict.formats.kml import incidents_kml
from deconflict.tactical.detect import DetectionSettings
from deconflict.tactical.replay import ReplaySettings
from deconflict.tactical.states import GroundFilter

__all__ = ["ColumnarTracksRoute", "live_settings", "router", "run_cycles"]

_log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/v1", tags=["live picture"], dependencies=[Depends(current_party)], responses=COMMON_RESPONSES
)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}


def live_settings(settings: Settings) -> LiveSettings:
    """The live picture's settings from the service's."""
    return LiveSettings(
        tracking=ReplaySettings(
            step_s=settings.tactical_cycle_s,
            stale_s=settings.tactical_stale_s,
            detection=DetectionSettings(
                settings.tactical_rpz_m, settings.tactical_hpz_m, settings.tactical_lookahead_s
            ),
            ground=GroundFilter(settings.tactical_min_alt_m, settings.tactical_min_gs_mps),
            max_alt_m=settings.tactical_max_alt_m,
            max_vs_mps=settings.tactical_max_vs_mps,
            alt_quantum_m=settings.tactical_alt_quantum_m,
            alert_gap_s=settings.tactical_alert_gap_s,
        ),
        warning_s=settings.tactical_warning_s,
        trail_s=settings.tracks_trail_s,
        gating=settings.gating(),
        conformance=settings.conformance(),
    )


def _live(request: Request) -> LivePicture:
    services = request.app.state.services
    if services.live is None:
        raise RuntimeError("the app runs without a live picture")
    live: LivePicture = services.live
    return live


def _incidents(request: Request) -> IncidentStore:
    services = request.app.state.services
    if services.incidents is None:
        raise RuntimeError("the app runs without an incident store")
    incidents: IncidentStore = services.incidents
    return incidents


LiveDep = Annotated[LivePicture, Depends(_live)]
IncidentsDep = Annotated[IncidentStore, Depends(_incidents)]


TRACK_COLUMNS = "deconflict.track_columns"
"""The scope key under which :class:`ColumnarTracksRoute` hands the decoded columns to the route."""
_NO_STATES = b'{"states":[]}'


class ColumnarTracksRoute(APIRoute):
    """``POST /v1/tracks`` decoded into columns first (:func:`decode_track_columns`), off the event loop.

    A body whose states are all good reaches the route as columns (under
    :data:`TRACK_COLUMNS` in the scope; the framework then validates an empty
    batch in its place): no per-state model is built. Any other body takes the
    framework's own path through :class:`TracksIn`, so every error is today's,
    naming the state and field.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def columnar(request: Request) -> Response:
            if request.method == "POST":
                try:
                    body = await request.body()
                except Exception:  # a client gone mid-body: the framework's own path answers it
                    answer: Response = await handler(request)
                    return answer
                max_batch = request.app.state.services.settings.tracks_max_batch
                content_type = request.headers.get("content-type")
                columns = await run_in_threadpool(decode_track_columns, body, content_type, max_batch)
                if columns is not None:

                    async def receive() -> Message:
                        return {"type": "http.request", "body": _NO_STATES, "more_body": False}

                    request = Request({**request.scope, TRACK_COLUMNS: columns}, receive)
            response: Response = await handler(request)
            return response

        return columnar


def post_tracks(
    body: TracksIn, party: CurrentParty, live: LiveDep, settings: SettingsDep, now_s: Now, request: Request
) -> TracksAcceptedOut:
    """Post states of the caller's own aircraft; detection takes them at its next cycle.

    States that are stale, older than the aircraft's latest or implausible are
    not taken; the answer counts them by reason.
    """
    columns = request.scope.get(TRACK_COLUMNS)
    if not isinstance(columns, StateColumns):
        columns = StateColumns.of(body.track_states(settings.tracks_max_batch))
    intake = live.take_columns(party.name, columns, now_s)
    posts: TrackPosts | None = request.app.state.services.track_posts
    if posts is not None:  # for the other nodes: whichever runs the cycle takes them too
        posts.append(party.name, columns, now_s)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.count_states(intake)
    return TracksAcceptedOut.of(intake)


router.add_api_route(
    "/tracks",
    post_tracks,
    methods=["POST"],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TracksAcceptedOut,
    responses={
        422: {
            "model": ProblemsOut,
            "description": "a bad state (states[i].field), too many states, or the party's aircraft cap",
        }
    },
    route_class_override=ColumnarTracksRoute,
)


@router.get("/tracks", response_model=TracksOut)
def get_tracks(party: CurrentParty, live: LiveDep, now_s: Now, ids: PublicIdsDep) -> TracksOut:
    """The caller's own tracks (with trails) and the foreign aircraft in alerts with them."""
    return TracksOut.of(live.picture_for(party.name, now_s), ids)


@router.get("/tracks/columns", response_model=TracksColumnsOut)
def get_track_columns(party: CurrentParty, live: LiveDep, now_s: Now, ids: PublicIdsDep) -> TracksColumnsOut:
    """As ``GET /v1/tracks`` without trails, the caller's own aircraft as columns: for a large fleet.

    The same as the ``tracks`` frames of ``/v1/events?tracks=true``; a trail is
    read with ``GET /v1/tracks/own/{aircraft_id}``.
    """
    return TracksColumnsOut.of(live.columns_for(party.name, now_s), ids)


@router.get("/tracks/own/{aircraft_id}", response_model=OwnTrackOut, responses=_NOT_FOUND)
def get_own_track(aircraft_id: str, party: CurrentParty, live: LiveDep, now_s: Now) -> OwnTrackOut:
    """One of the caller's own aircraft with its trail (404 for an id it holds no state for)."""
    track = live.own_track(party.name, aircraft_id, now_s)
    if track is None:
        raise NotFoundError(f"no aircraft {aircraft_id[:64]!r} of party {party.name!r} with a state")
    return OwnTrackOut.of(track)


ALERTS_PAGE = 1000
"""Alerts in a page of ``GET /v1/alerts`` unless ``limit`` says otherwise."""
MAX_ALERTS_PAGE = 10_000
INCIDENTS_PAGE = 200
"""Incidents in a page of ``GET /v1/incidents`` unless ``limit`` says otherwise."""
MAX_INCIDENTS_PAGE = 1000

_AFTER = "the `next` of the page before: the page after it"
_BEFORE = "the `previous` of the page after: the page before it"
_BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemsOut, "description": "a cursor this listing never gave, or both"}
}


def _cursor_row(ids: PublicIds, kind: IdKind, name: str, cursor: str | None) -> int | None:
    """The row (alert number, incident id) behind a cursor of a listing of ``kind``; ``None`` for none.

    A cursor is the public id of a page's last (first) item: opaque to the
    caller, decoded here, so row ids never leave the service.

    Raises
    ------
    InputError
        For text that is no cursor of this listing, naming the parameter.
    """
    if cursor is None:
        return None
    if kind is IdKind.ALERT:  # an alert's public id, a-<n>
        row = ids.row(kind, cursor[2:]) if cursor.startswith("a-") else NO_ROW
    else:
        row = ids.row(kind, cursor)
    if row == NO_ROW:
        raise InputError([Problem("request", f"not a cursor of this listing: {cursor[:40]!r}", None, name)])
    return row


def _cursors(
    ids: PublicIds, kind: IdKind, after: str | None, before: str | None
) -> tuple[int | None, int | None]:
    if after is not None and before is not None:
        raise InputError([Problem("request", "give after or before, not both", None, "before")])
    return _cursor_row(ids, kind, "after", after), _cursor_row(ids, kind, "before", before)


@router.get("/alerts", response_model=AlertsOut, responses=_BAD_CURSOR)
def get_alerts(
    party: CurrentParty,
    live: LiveDep,
    ids: PublicIdsDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ALERTS_PAGE, description="alerts in the page at most")
    ] = ALERTS_PAGE,
    after: Annotated[str | None, Query(description=_AFTER)] = None,
    before: Annotated[str | None, Query(description=_BEFORE)] = None,
) -> AlertsOut:
    """The open alerts involving the caller's aircraft, oldest first, a page at a time.

    Follow ``next`` (as ``after``) until it is null to read them all, each once;
    cursors are opaque and stay valid after their alert clears.
    """
    page = live.alerts_page(party.name, limit, *_cursors(ids, IdKind.ALERT, after, before))
    shown = [AlertOut.of(a, ids) for a in page.items]
    return AlertsOut(
        alerts=shown,
        next=shown[-1].id if page.more_after and shown else None,
        previous=shown[0].id if page.more_before and shown else None,
    )


_INCIDENTS: dict[int | str, dict[str, Any]] = {
    **_BAD_CURSOR,
    200: {
        "description": "a page of incidents; with ``format=kml``, the page's incidents as a KML download",
        "content": {DOWNLOAD_MEDIA_TYPES["kml"]: {"schema": {"type": "string"}}},
    },
}


@router.get("/incidents", response_model=IncidentsOut, responses=_INCIDENTS)
def list_incidents(
    party: CurrentParty,
    incidents: IncidentsDep,
    ids: PublicIdsDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_INCIDENTS_PAGE, description="incidents in the page at most")
    ] = INCIDENTS_PAGE,
    after: Annotated[str | None, Query(description=_AFTER)] = None,
    before: Annotated[str | None, Query(description=_BEFORE)] = None,
    download_format: Annotated[
        Literal["kml"] | None,
        Query(alias="format", description="kml: the page's incidents as placemarks for Google Earth"),
    ] = None,
) -> IncidentsOut | Response:
    """The incidents involving the caller's aircraft, oldest first, with both sides' comments, by pages.

    Follow ``next`` (as ``after``) until it is null to read them all, each once.
    ``format=kml`` gives the page's incidents (where, when, how close) as KML,
    drawn from the very records of the JSON page.
    """
    page = incidents.page_incidents(party.name, limit, *_cursors(ids, IdKind.INCIDENT, after, before))
    shown = [IncidentOut.of(i.view_for(party.name), ids) for i in page.items]
    if download_format is not None:
        return Response(
            incidents_kml(shown, f"incidents of {party.name}"),
            media_type=DOWNLOAD_MEDIA_TYPES["kml"],
            headers={"Content-Disposition": 'attachment; filename="incidents.kml"'},
        )
    return IncidentsOut(
        incidents=shown,
        next=str(shown[-1].id) if page.more_after and shown else None,
        previous=str(shown[0].id) if page.more_before and shown else None,
    )


@router.get("/incidents/{incident_id}", response_model=IncidentOut, responses=_NOT_FOUND)
def get_incident(
    incident: IncidentRow, party: CurrentParty, incidents: IncidentsDep, ids: PublicIdsDep
) -> IncidentOut:
    """One incident involving the caller's aircraft."""
    with incident.public_errors():
        found = incidents.get_incident(incident.row)
        if found is None:
            raise NotFoundError(f"no incident {incident.row} for party {party.name!r}")
        view = found.view_for(party.name)
    return IncidentOut.of(view, ids)


@router.post(
    "/incidents/{incident_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentCommentOut,
    responses={**_NOT_FOUND, 422: {"model": ProblemsOut, "description": "empty or too long"}},
)
def comment(
    incident: IncidentRow,
    body: IncidentCommentIn,
    party: CurrentParty,
    incidents: IncidentsDep,
    audit: AuditDep,
    events: EventsDep,
    now_s: Now,
    response: Response,
    ids: PublicIdsDep,
) -> IncidentCommentOut:
    """Add the caller's comment to an incident's thread (both sides see it; never edited)."""
    with incident.public_errors():
        added = comment_on_incident(incidents, audit, party.name, incident.row, body.text, now_s, events)
    response.headers["Location"] = f"/v1/incidents/{ids.public(IdKind.INCIDENT, incident.row)}"
    return IncidentCommentOut.of(added)


async def run_cycles(services: Services, on_cycle: Callable[[float], None] | None = None) -> None:
    """Every ``tactical_cycle_s``, run a detection cycle in a worker thread (runs until cancelled).

    A cycle that fails is logged and the next one runs; a slow cycle delays the
    next, never overlaps it. In a cluster, only the node holding the scheduler's
    lease runs it (:mod:`deconflict.api.cluster`). ``on_cycle`` hears how many seconds each
    finished cycle took.
    """
    if services.live is None or services.incidents is None:
        return
    lease = services.lease
    period_s = services.settings.tactical_cycle_s
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        await asyncio.sleep(max(0.0, period_s - (loop.time() - started)))
        started = loop.time()
        if not lease.held():  # another node of the cluster runs the cycle
            continue
        try:
            took_s = time.perf_counter()
            await run_in_threadpool(
                run_tactical_cycle,
                services.live,
                services.incidents,
                services.audit,
                services.clock.now_s(),
                services.events,
                services.ledger,
                lease,
            )
            if services.live_mirror is not None:  # for the nodes that run no cycle
                # Every cycle, even one with nothing open: the other nodes learn that a cycle ran.
                await run_in_threadpool(services.live_mirror.write, services.live.state())
            if on_cycle is not None:
                on_cycle(time.perf_counter() - took_s)
        except (StorageUnavailableError, LeaseLostError) as exc:  # one line, not a traceback
            _log.warning("tactical detection cycle failed, retried at the next one: %s", exc)
        except Exception:
            _log.exception("tactical detection cycle failed")
