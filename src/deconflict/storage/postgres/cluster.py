"""What the nodes of a cluster share through PostgreSQL: the scheduler's lease, rates, connections, tracks.

Times that decide between nodes (a lease's expiry, a connection's heartbeat)
are the database server's clock, so the nodes' clocks need not agree; a rate
window is the app's clock (a party's messages are stamped with it anyway).

Counting is serialised per key by a transaction-scoped advisory lock on the
key's hash, never by the writers' lock: a count is a short transaction of its
own that does not wait behind filings.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

import numpy as np

from deconflict.channel.cluster import LeaseLostError, TrackPost
from deconflict.channel.gating import Withheld
from deconflict.channel.live import (
    Aircraft,
    Alert,
    AlertLevel,
    ClosestApproach,
    Incident,
    IncidentComment,
    NonConformance,
    PictureState,
    StateColumns,
)
from deconflict.storage.postgres.database import Connection, Database

__all__ = [
    "PostgresConnections",
    "PostgresCoordination",
    "PostgresLease",
    "PostgresLiveMirror",
    "PostgresRate",
    "PostgresTrackPosts",
]

_NOW = "extract(epoch FROM clock_timestamp())"

_RENEW = f"""INSERT INTO leases (name, holder, token, expires_s)
VALUES (%(name)s, %(holder)s, 1, {_NOW} + %(ttl)s)
ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END,
    expires_s = excluded.expires_s
WHERE leases.holder = excluded.holder OR leases.expires_s <= {_NOW}
RETURNING token"""


class PostgresLease:
    """One named lease in the ``leases`` table, as one node (``holder``) holds it.

    A new holder gets the next fencing token. This node counts itself the
    holder until ``ttl_s`` after it *sent* its latest successful renewal (by
    its monotonic clock), which is never later than the expiry the database
    recorded: it stops before another node can start.
    """

    def __init__(self, database: Database, name: str, holder: str, ttl_s: float) -> None:
        if ttl_s <= 0.0:
            raise ValueError(f"a lease's time to live is positive, got {ttl_s}")
        self.database = database
        self.name = name
        self.holder = holder
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._token: int | None = None
        self._valid_until = 0.0

    @property
    def token(self) -> int | None:
        with self._lock:
            return self._token if time.monotonic() < self._valid_until else None

    def renew(self) -> bool:
        sent = time.monotonic()
        try:
            with self.database.available(), self.database.pool.connection() as db:
                row = db.execute(
                    _RENEW, {"name": self.name, "holder": self.holder, "ttl": self.ttl_s}
                ).fetchone()
        except BaseException:
            with self._lock:
                self._token = None
            raise
        with self._lock:
            self._token = None if row is None else int(row["token"])
            self._valid_until = sent + self.ttl_s if row is not None else 0.0
            return self._token is not None

    def held(self) -> bool:
        return self.token is not None

    def fence(self) -> None:
        token = self.token
        if token is not None:
            with self.database.connection() as db:
                # FOR SHARE: a takeover (an update of the row) waits until this transaction ends.
                row = db.execute(
                    f"SELECT token FROM leases WHERE name = %s AND holder = %s AND token = %s "
                    f"AND expires_s > {_NOW} FOR SHARE",
                    (self.name, self.holder, token),
                ).fetchone()
            if row is not None:
                return
        raise LeaseLostError(f"lease {self.name!r}: not held by {self.holder!r} any more; nothing written")

    def release(self) -> None:
        with self._lock:
            self._token = None
            self._valid_until = 0.0
        with self.database.available(), self.database.pool.connection() as db:
            db.execute(
                "UPDATE leases SET holder = '', expires_s = 0 WHERE name = %s AND holder = %s",
                (self.name, self.holder),
            )


def _lock_key(db: Connection, key: str) -> None:
    """Serialise the transaction with others of ``key``; its commit need not wait for the disk.

    What these transactions write is short-lived (a minute's messages, open sockets, a few
    seconds of aircraft states): a crash of the database that loses the last of it loses
    nothing that matters, and each commit is several times cheaper than a flushed one.
    """
    db.execute("SET LOCAL synchronous_commit = off")
    db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


class PostgresRate:
    """At most ``limit`` events per key in any ``window_s``, counted in ``rate_events`` over every node."""

    def __init__(self, database: Database, name: str, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0.0:
            raise ValueError(f"limit must be at least 1 and window_s positive, got {limit}, {window_s}")
        self.database = database
        self.name = name
        self.limit = limit
        self.window_s = window_s

    def admit(self, key: str, now_s: float) -> float | None:
        return self.admit_many(key, 1, now_s)[1]

    def admit_many(self, key: str, count: int, now_s: float) -> tuple[int, float | None]:
        # Pipelined: the whole transaction is one round trip (the count and the insert are one
        # statement, the insert admitting what the count leaves room for), on every request.
        with self.database.available(), self.database.pool.connection() as db:
            with db.pipeline(), db.transaction():
                _lock_key(db, f"rate:{self.name}:{key}")
                db.execute(
                    "DELETE FROM rate_events WHERE name = %s AND party = %s AND at_s <= %s",
                    (self.name, key, now_s - self.window_s),
                )
                cursor = db.execute(
                    "WITH prior AS (SELECT count(*) AS n, min(at_s) AS first_s FROM rate_events "
                    "WHERE name = %(name)s AND party = %(key)s), "
                    "added AS (INSERT INTO rate_events (name, party, at_s) "
                    "SELECT %(name)s, %(key)s, %(now_s)s FROM generate_series(1, "
                    "greatest(0, least(%(count)s, %(limit)s - (SELECT n FROM prior)))) RETURNING 1) "
                    "SELECT n, first_s, (SELECT count(*) FROM added) AS admitted FROM prior",
                    {"name": self.name, "key": key, "now_s": now_s, "count": count, "limit": self.limit},
                )
            row = cursor.fetchone()
        assert row is not None
        admitted = int(row["admitted"])
        if admitted == count:
            return admitted, None
        first_s = now_s if row["first_s"] is None else min(float(row["first_s"]), now_s)
        return admitted, first_s + self.window_s - now_s


class PostgresConnections:
    """Open event connections in ``event_connections``, each with its node; counted while heartbeats come."""

    def __init__(self, database: Database, node: str, ttl_s: float) -> None:
        self.database = database
        self.node = node
        self.ttl_s = ttl_s

    def open(self, party: str, limit: int) -> int | None:
        with self.database.available(), self.database.pool.connection() as db, db.transaction():
            _lock_key(db, f"connections:{party}")
            # Connections of nodes that stopped beating (killed) no longer count.
            db.execute(
                f"DELETE FROM event_connections WHERE party = %s AND seen_s <= {_NOW} - %s",
                (party, self.ttl_s),
            )
            row = db.execute(
                "SELECT count(*) AS n FROM event_connections WHERE party = %s", (party,)
            ).fetchone()
            assert row is not None
            if int(row["n"]) >= limit:
                return None
            added = db.execute(
                f"INSERT INTO event_connections (party, node, seen_s) VALUES (%s, %s, {_NOW}) RETURNING id",
                (party, self.node),
            ).fetchone()
            assert added is not None
            return int(added["id"])

    def close(self, connection_id: int) -> None:
        with self.database.available(), self.database.pool.connection() as db:
            db.execute("DELETE FROM event_connections WHERE id = %s", (connection_id,))

    def heartbeat(self) -> None:
        with self.database.available(), self.database.pool.connection() as db:
            db.execute(f"UPDATE event_connections SET seen_s = {_NOW} WHERE node = %s", (self.node,))


_NUMBERS = ("time_s", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")


def _encode_columns(states: StateColumns) -> str:
    document: dict[str, Any] = {"ids": states.ids, "callsigns": states.callsigns}
    document |= {name: getattr(states, name).tolist() for name in _NUMBERS}
    document["on_ground"] = states.on_ground.tolist()
    return json.dumps(document, separators=(",", ":"))


def _decode_columns(text: str) -> StateColumns:
    document = json.loads(text)
    return StateColumns(
        ids=document["ids"],
        callsigns=document["callsigns"],
        **{name: np.asarray(document[name], dtype=np.float64) for name in _NUMBERS},
        on_ground=np.asarray(document["on_ground"], dtype=bool),
    )


class PostgresTrackPosts:
    """Aircraft states posted to any node, in ``track_posts``: each node reads the others' in order.

    Posts are appended under an advisory lock of their own, so they commit in
    the order of their numbers and a reader that asks for those after the
    last it saw misses none.
    """

    def __init__(self, database: Database, node: str) -> None:
        self.database = database
        self.node = node

    def append(self, party: str, states: StateColumns, posted_s: float) -> None:
        with self.database.available(), self.database.pool.connection() as db, db.transaction():
            _lock_key(db, "track_posts")
            db.execute(
                "INSERT INTO track_posts (node, party, posted_s, states) VALUES (%s, %s, %s, %s)",
                (self.node, party, posted_s, _encode_columns(states)),
            )

    def last_seq(self) -> int:
        with self.database.available(), self.database.pool.connection() as db:
            row = db.execute("SELECT coalesce(max(seq), 0) AS seq FROM track_posts").fetchone()
        return 0 if row is None else int(row["seq"])

    def since(self, seq: int, from_s: float) -> list[TrackPost]:
        with self.database.available(), self.database.pool.connection() as db:
            rows = db.execute(
                "SELECT seq, party, posted_s, states FROM track_posts "
                "WHERE seq > %s AND node <> %s AND posted_s >= %s ORDER BY seq",
                (seq, self.node, from_s),
            ).fetchall()
        return [
            TrackPost(
                int(r["seq"]),
                str(r["party"]),
                float(r["posted_s"]),
                _decode_columns(str(r["states"])),
            )
            for r in rows
        ]

    def forget(self, before_s: float) -> None:
        with self.database.available(), self.database.pool.connection() as db:
            db.execute("DELETE FROM track_posts WHERE posted_s < %s", (before_s,))


def _aircraft(fields: list[str]) -> Aircraft:
    return Aircraft(fields[0], fields[1])


def _alert_from(d: dict[str, Any]) -> Alert:
    return Alert(
        id=d["id"],
        level=AlertLevel(d["level"]),
        a=_aircraft(d["a"]),
        b=_aircraft(d["b"]),
        since_s=d["since_s"],
        last_s=d["last_s"],
        time_to_loss_s=d["time_to_loss_s"],
        time_to_cpa_s=d["time_to_cpa_s"],
        distance_cpa_m=d["distance_cpa_m"],
        vertical_cpa_m=d["vertical_cpa_m"],
        position_a=tuple(d["position_a"]),
        position_b=tuple(d["position_b"]),
        withheld_a=None if d["withheld_a"] is None else Withheld(d["withheld_a"]),
        withheld_b=None if d["withheld_b"] is None else Withheld(d["withheld_b"]),
    )


def _incident_from(d: dict[str, Any]) -> Incident:
    return Incident(
        id=d["id"],
        a=_aircraft(d["a"]),
        b=_aircraft(d["b"]),
        started_s=d["started_s"],
        ended_s=d["ended_s"],
        closest=ClosestApproach(**d["closest"]),
        comments=tuple(IncidentComment(**c) for c in d["comments"]),
        withheld=tuple(d["withheld"]),
    )


def _stray_from(d: dict[str, Any]) -> NonConformance:
    return NonConformance(
        id=d["id"],
        aircraft=_aircraft(d["aircraft"]),
        since_s=d["since_s"],
        last_s=d["last_s"],
        position=tuple(d["position"]),
        entered=tuple(d["entered"]),
    )


def _with_aircraft_lists(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "a": [row["a"]["party"], row["a"]["id"]], "b": [row["b"]["party"], row["b"]["id"]]}


def encode_picture(state: PictureState) -> str:
    """``state`` as JSON text (dataclasses as objects, aircraft as [party, id], enums as their values)."""
    document = {
        "alerts": [_with_aircraft_lists(dataclasses.asdict(a)) for a in state.alerts],
        "incidents": [_with_aircraft_lists(dataclasses.asdict(i)) for i in state.incidents],
        "withheld": [[[a.party, a.id], str(why)] for a, why in state.withheld],
        "strays": [
            {**dataclasses.asdict(s), "aircraft": [s.aircraft.party, s.aircraft.id]} for s in state.strays
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def decode_picture(time_s: float, text: str) -> PictureState:
    """The :class:`PictureState` :func:`encode_picture` wrote."""
    document = json.loads(text)
    return PictureState(
        time_s,
        tuple(_alert_from(d) for d in document["alerts"]),
        tuple(_incident_from(d) for d in document["incidents"]),
        tuple((_aircraft(a), Withheld(why)) for a, why in document["withheld"]),
        tuple(_stray_from(d) for d in document.get("strays", ())),
    )


class PostgresLiveMirror:
    """The cycle's alerts and incidents in ``live_mirror`` (one row), for the nodes that run no cycle."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def write(self, state: PictureState) -> None:
        with self.database.available(), self.database.pool.connection() as db, db.transaction():
            db.execute("SET LOCAL synchronous_commit = off")  # the next cycle writes it again
            db.execute(
                "INSERT INTO live_mirror (one, time_s, body) VALUES (1, %s, %s) "
                "ON CONFLICT (one) DO UPDATE SET time_s = excluded.time_s, body = excluded.body",
                (state.time_s, encode_picture(state)),
            )

    def read(self, after_s: float) -> PictureState | None:
        with self.database.available(), self.database.pool.connection() as db:
            row = db.execute("SELECT time_s, body FROM live_mirror WHERE time_s > %s", (after_s,)).fetchone()
        return None if row is None else decode_picture(float(row["time_s"]), str(row["body"]))


class PostgresCoordination:
    """The cluster's shared state in one PostgreSQL database, as node ``node`` sees it."""

    def __init__(self, database: Database, node: str) -> None:
        self.database = database
        self.node = node

    def lease(self, name: str, ttl_s: float) -> PostgresLease:
        return PostgresLease(self.database, name, self.node, ttl_s)

    def rate(self, name: str, limit: int, window_s: float) -> PostgresRate:
        return PostgresRate(self.database, name, limit, window_s)

    def connections(self, ttl_s: float) -> PostgresConnections:
        return PostgresConnections(self.database, self.node, ttl_s)

    def track_posts(self) -> PostgresTrackPosts:
        return PostgresTrackPosts(self.database, self.node)

    def live_mirror(self) -> PostgresLiveMirror:
        return PostgresLiveMirror(self.database)
