"""Drive the demo scenario against a running channel service, as its three parties would.

Everything goes through :class:`~deconflict.client.ChannelClient` over HTTP
(signed messages, bearer tokens): filing the plans, posting the aircraft's
states, the scripted hotline exchanges and conflict lifecycle moves. The
driver also watches what the service reports (alerts, incidents) and sums up
the run from the parties' own views.

Time is a :class:`ScenarioClock`: the server and the driver share it, so
``speed`` > 1 runs flights and deadlines faster than real time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deconflict.client import ChannelClient, ChannelError
from deconflict.demo.scenario import Flight, Scenario, Step
from deconflict.strategic.conflicts import format_time

__all__ = ["TICK_S", "DemoDriver", "ScenarioClock", "flight_states", "play"]

TICK_S = 1.0
"""Real seconds between the driver's ticks."""

_MISSING_ROUTE = 404
_LEVELS = ("advisory", "warning", "loss")


class ScenarioClock:
    """A :class:`~deconflict.channel.deadlines.Clock` that starts at ``start_s`` and runs ``speed`` times
    faster than real time.

    Parameters
    ----------
    start_s
        Seconds since the epoch at scenario time 0 (usually now).
    speed
        Scenario seconds per real second (> 0).
    monotonic
        The real-time source, ``time.monotonic`` by default.
    """

    def __init__(
        self, start_s: float, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if not speed > 0.0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.start_s = start_s
        self.speed = speed
        self._monotonic = monotonic
        self._origin_s = monotonic()

    def elapsed_s(self) -> float:
        """Scenario seconds since the start."""
        return self.speed * (self._monotonic() - self._origin_s)

    def now_s(self) -> float:
        """The scenario's time, seconds since the epoch."""
        return self.start_s + self.elapsed_s()


def flight_states(flights: list[Flight], elapsed_s: float, start_s: float) -> list[dict[str, Any]]:
    """The ``POST /v1/tracks`` states of ``flights`` at scenario time ``elapsed_s``."""
    when = format_time(start_s + elapsed_s)
    states = []
    for flight in flights:
        s = flight.states(elapsed_s)
        states.append(
            {
                "id": flight.id,
                "callsign": flight.callsign,
                "time": when,
                "lat_deg": round(float(s.lat_deg[0]), 6),
                "lon_deg": round(float(s.lon_deg[0]), 6),
                "alt_m": round(float(s.alt_m[0]), 1),
                "gs_mps": round(float(s.gs_mps[0]), 1),
                "trk_deg": round(float(s.trk_deg[0]), 1),
                "vs_mps": round(float(s.vs_mps[0]), 1),
            }
        )
    return states


@dataclass
class _Sent:
    id: int
    sender: str
    recipient: str


@dataclass
class _Progress:
    done: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class DemoDriver:
    """Plays a :class:`~deconflict.demo.scenario.Scenario` against a service, one tick at a time.

    Parameters
    ----------
    scenario
        What to play.
    clients
        One client per party of the scenario (with its private key, to send).
    clock
        The scenario clock the server uses too.
    log
        Where to tell people what happens (one line per event).
    """

    def __init__(
        self,
        scenario: Scenario,
        clients: Mapping[str, ChannelClient],
        clock: ScenarioClock,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.scenario = scenario
        self.clients = dict(clients)
        self.clock = clock
        self.log = log
        self._versions: dict[str, int] = {}
        self._sent: dict[str, _Sent] = {}
        self._next_step = 0
        self._progress = _Progress()
        self._tracks = True
        self._states_posted = 0
        self._alerts: dict[str, str] = {}
        self._strays: set[tuple[str, str]] = set()  # (party told, non-conformance alert id)
        self._incidents: set[int] = set()
        self._escalations: set[tuple[int, int]] = set()

    # --- the run ---------------------------------------------------------------------

    def file_plans(self) -> int:
        """File every party's operations; returns the number of conflicts the service reported."""
        found = 0
        for op in self.scenario.operations:
            filed = self.clients[op.party].file_operation(
                op.id, op.collection(self.clock.start_s), priority=op.priority
            )
            self._versions[op.id] = int(filed["operation"]["version"])
            found += len(filed["conflicts"])
            count = len(filed["conflicts"])
            self.log(f"{op.party} filed {op.id}: {count} new conflict{'' if count == 1 else 's'}")
        return found

    def tick(self) -> None:
        """Post the aircraft's states for now, play the steps due, watch alerts."""
        elapsed_s = self.clock.elapsed_s()
        if self._tracks:
            self._post_tracks(elapsed_s)
        steps = self.scenario.steps
        while self._next_step < len(steps) and steps[self._next_step].at_s <= elapsed_s:
            self._play(steps[self._next_step])
            self._next_step += 1
        self._watch()

    def _post_tracks(self, elapsed_s: float) -> None:
        for party, client in self.clients.items():
            flights = [f for f in self.scenario.flights if f.party == party]
            try:
                answer = client.post_tracks(flight_states(flights, elapsed_s, self.clock.start_s))
            except ChannelError as exc:
                if exc.status == _MISSING_ROUTE:
                    self._tracks = False
                    self.log("the service has no /v1/tracks: flights are not shown")
                    return
                raise
            self._states_posted += int(answer.get("accepted", 0))

    def _watch(self) -> None:
        """Log what the service reports: new escalations, incidents, alerts (each once)."""
        for party, client in self.clients.items():
            for escalation in client.escalations():
                key = (int(escalation["message"]), int(escalation["step"]))
                if key not in self._escalations:
                    self._escalations.add(key)
                    self.log(
                        f"escalation step {key[1]} of #{key[0]} {escalation['code']} "
                        f"({escalation['from']} -> {escalation['to']}): no answer by the deadline"
                    )
            if self._tracks:
                self._watch_tactical(party, client)

    def _watch_tactical(self, party: str, client: ChannelClient) -> None:
        for incident in client.incidents():
            incident_id, closest = int(incident["id"]), incident["closest"]
            # A closest approach is withheld while our aircraft does not vouch for disclosure yet.
            if incident_id not in self._incidents and closest is not None:
                self._incidents.add(incident_id)
                self.log(
                    f"incident {incident_id}: loss of separation between {party} {incident['own_id']} "
                    f"and a {incident['other_party']} aircraft, closest {closest['distance_m']:.0f} m "
                    f"and {closest['vertical_m']:.0f} m vertically so far"
                )
        for alert in client.alerts():
            if alert.get("kind") == "non_conformance":
                self._stray(party, alert)
                continue
            # Alert ids are the service's, shared by both sides: count each once, at its worst level.
            alert_id, level = str(alert["id"]), str(alert["level"])
            before = self._alerts.get(alert_id)
            if before is None or _LEVELS.index(level) > _LEVELS.index(before):
                self._alerts[alert_id] = level
                where = (
                    f"closest {alert['distance_cpa_m']:.0f} m in {alert['time_to_cpa_s']:.0f} s"
                    if alert.get("withheld") is None
                    else f"figures withheld ({alert['withheld']})"
                )
                self.log(
                    f"alert {alert_id} {level}: {party} {alert['own_id']} and a {alert['other_party']} "
                    f"aircraft, {where}"
                )

    def _stray(self, party: str, alert: dict[str, Any]) -> None:
        """Log a non-conformance alert once: an own aircraft off its plans, or another party's in ours."""
        key = (party, str(alert["id"]))
        if key in self._strays:
            return
        self._strays.add(key)
        if alert["own_id"] is not None:
            self.log(
                f"alert {alert['id']}: {party} {alert['own_id']} is outside all of {party}'s active plans"
            )
        else:
            self.log(
                f"alert {alert['id']}: a {alert['other_party']} aircraft off its plans is in {party}'s space"
            )

    # --- the script --------------------------------------------------------------------

    def _play(self, step: Step) -> None:
        actions: dict[str, Callable[[ChannelClient, Step], str | None]] = {
            "send": self._send,
            "read": self._ack,
            "accept": self._ack,
            "dispute": self._ack,
            "amend": self._amend,
            "ack_conflict": self._conflict,
            "accept_conflict": self._conflict,
            "report_incident": self._report_incident,
            "comment_incident": self._comment_incident,
        }
        try:
            skipped = actions[step.action](self.clients[step.party], step)
        except (ChannelError, KeyError) as exc:
            self._progress.failed.append(f"{step.at_s:g} s {step.party} {step.action}: {exc}")
            self.log(f"step failed: {step.party} {step.action}: {exc}")
            return
        if skipped is not None:
            self._progress.skipped.append(f"{step.at_s:g} s {step.party} {step.action}: {skipped}")
            self.log(f"{step.party} {step.action} skipped: {skipped}")
        else:
            self._progress.done += 1

    def _send(self, client: ChannelClient, step: Step) -> str | None:
        args = step.args
        reply_by = None
        if "reply_by_s" in args:
            reply_by = format_time(round(self.clock.now_s() + float(args["reply_by_s"])))
        sent = client.send(
            str(args["to"]),
            str(args["code"]),
            self.scenario.fill(
                dict(args.get("params", {})),
                self.clock.start_s,
                self._versions,
                {label: sent.id for label, sent in self._sent.items()},
            ),
            str(args.get("text", "")),
            reply_by=reply_by,
        )
        self._sent[str(args["label"])] = _Sent(int(sent["id"]), step.party, str(args["to"]))
        deadline = f", reply by {reply_by}" if reply_by else ""
        self.log(f"{step.party} -> {args['to']}: {args['code']} #{sent['id']}{deadline}")
        return None

    def _ack(self, client: ChannelClient, step: Step) -> str | None:
        label = str(step.args["message"])
        if label not in self._sent:
            return f"no message {label!r} was sent"
        sent = self._sent[label]
        level = {"read": "read", "accept": "accepted", "dispute": "disputed"}[step.action]
        if level == "read":
            client.messages("inbox")  # fetching the inbox marks it delivered, as a console would
        client.ack(sent.id, level, reason=step.args.get("reason"))
        self.log(f"{step.party} {level} #{sent.id} from {sent.sender}")
        return None

    def _amend(self, client: ChannelClient, step: Step) -> str | None:
        op = self.scenario.operation(str(step.args["operation"]))
        filed = client.file_operation(
            op.id,
            op.collection(self.clock.start_s, amended=True),
            priority=op.priority,
            replaces_version=self._versions[op.id],
        )
        self._versions[op.id] = int(filed["operation"]["version"])
        self.log(f"{step.party} amended {op.id} to version {self._versions[op.id]}")
        return None

    def _conflict(self, client: ChannelClient, step: Step) -> str | None:
        operation = str(step.args["operation"])
        other = str(step.args["other_party"])
        found = [c for c in client.conflicts(operation=operation) if c["other_party"] == other]
        if not found:
            return f"no conflict of {operation} with {other}"
        conflict_id = int(found[0]["id"])
        if step.action == "ack_conflict":
            state = client.ack_conflict(conflict_id)["state"]
        else:
            state = client.accept_conflict(conflict_id, str(step.args["reason"]))["state"]
        done = "acknowledged" if step.action == "ack_conflict" else "accepted"
        self.log(f"{step.party} {done} conflict #{conflict_id} ({operation} with {other}): now {state}")
        return None

    def _incident(self, client: ChannelClient, other: str) -> dict[str, Any] | None:
        if not self._tracks:
            return None
        found = [i for i in client.incidents() if i["other_party"] == other]
        return found[-1] if found else None  # the newest: listed oldest first (ids are in no order)

    def _report_incident(self, client: ChannelClient, step: Step) -> str | None:
        other = str(step.args["other_party"])
        incident = self._incident(client, other)
        if incident is None:
            return f"no incident with {other} recorded"
        closest = incident["closest"]
        if closest is None:
            return f"the closest approach of incident {incident['id']} is withheld"
        sent = client.send(
            other,
            "UNSAFE_ENCOUNTER_REPORT",
            {
                "time": closest["time"],
                "position": f"{closest['lon_deg']:.3f}E {closest['lat_deg']:.3f}N",
                "horizontal_m": round(float(closest["distance_m"])),
                "vertical_m": round(float(closest["vertical_m"])),
            },
            f"{incident['own_id']}: {step.args['comment']}",
        )
        self._sent[str(step.args["label"])] = _Sent(int(sent["id"]), step.party, other)
        client.comment_incident(int(incident["id"]), str(step.args["comment"]))
        self.log(
            f"{step.party} -> {other}: UNSAFE_ENCOUNTER_REPORT #{sent['id']} and a comment on incident "
            f"{incident['id']}"
        )
        return None

    def _comment_incident(self, client: ChannelClient, step: Step) -> str | None:
        other = str(step.args["other_party"])
        incident = self._incident(client, other)
        if incident is None:
            return f"no incident with {other} recorded"
        client.comment_incident(int(incident["id"]), str(step.args["comment"]))
        self.log(f"{step.party} commented on incident {incident['id']}")
        return None

    # --- the summary -------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """What happened, from the parties' own views (one JSON-able document)."""
        operations: Counter[str] = Counter()
        conflicts: dict[int, str] = {}
        messages: dict[int, dict[str, Any]] = {}
        escalations: set[tuple[int, int]] = set()
        incidents: dict[int, dict[str, Any]] = {}
        for client in self.clients.values():
            operations.update(str(op["state"]) for op in client.operations())
            for state in (None, "resolved"):
                conflicts.update((int(c["id"]), str(c["state"])) for c in client.conflicts(state=state))
            messages.update((int(m["id"]), m) for m in client.messages("outbox"))
            escalations.update((int(e["message"]), int(e["step"])) for e in client.escalations())
            if self._tracks:
                incidents.update((int(i["id"]), i) for i in client.incidents())

        def by_state(counts: Counter[str]) -> dict[str, int]:
            return dict(sorted(counts.items()))

        return {
            "parties": sorted(self.clients),
            "elapsed_s": round(self.clock.elapsed_s(), 1),
            "operations": {
                "filed": len(self.scenario.operations),
                "by_state": dict(sorted(operations.items())),
            },
            "conflicts": {
                "total": len(conflicts),
                "by_state": dict(sorted(Counter(conflicts.values()).items())),
            },
            "messages": {
                "total": len(messages),
                "by_state": dict(sorted(Counter(str(m["state"]) for m in messages.values()).items())),
                "overdue": sum(1 for m in messages.values() if m["overdue"]),
            },
            "escalations": len(escalations),
            "tracks": {
                "available": self._tracks,
                "aircraft": len(self.scenario.flights),
                "states_posted": self._states_posted,
            },
            "alerts": {
                "total": len(self._alerts),
                "by_level": dict(sorted(Counter(self._alerts.values()).items())),
            },
            "non_conformance": len({alert_id for _, alert_id in self._strays}),
            "incidents": {
                "total": len(incidents),
                "open": sum(1 for i in incidents.values() if i["ended"] is None),
            },
            "script": {
                "steps": len(self.scenario.steps),
                "done": self._progress.done,
                "skipped": list(self._progress.skipped),
                "failed": list(self._progress.failed),
            },
        }


def play(driver: DemoDriver, duration_s: float | None, log: Callable[[str], None]) -> None:
    """File the plans, then tick the driver every second until ``duration_s`` (real seconds) or Ctrl-C."""
    started = time.monotonic()
    next_tick = started
    try:
        driver.file_plans()
        while duration_s is None or time.monotonic() - started < duration_s:
            driver.tick()
            next_tick += TICK_S
            time.sleep(max(0.0, next_tick - time.monotonic()))
    except KeyboardInterrupt:
        log("interrupted: stopping")
