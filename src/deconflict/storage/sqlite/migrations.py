"""Versioned schema migrations: the one place that creates or changes the tables of the SQLite file.

Every SQLite store (operations, parties, messages, audit, conflict lifecycles) lives in the same
database file, and every one of them calls :func:`migrate` when it opens it.
The version reached is recorded in ``PRAGMA user_version``; pending migrations
run in order, all in one ``BEGIN IMMEDIATE`` transaction, so several stores or
processes opening a new file at once serialise on the write lock and the
second one finds the work done. A file written by a newer deconflict (a
version this code does not know) is refused rather than guessed at.

Migrations 1 to 5 create the tables the stores used to create themselves with
``CREATE TABLE IF NOT EXISTS``; they keep that clause, so a file written before
migrations existed (``user_version`` 0, tables already there) is adopted as is.
A new migration is appended to :data:`MIGRATIONS` with the next version; a
released one is never edited. ``user_version`` is the file's only schema
version: the ``meta`` table that recorded an older one (always 2) is dropped by
migration 11.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from deconflict.channel.public_ids import new_secret
from deconflict.errors import DeconflictError

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration", "migrate", "schema_version"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema.

    Parameters
    ----------
    version
        The ``user_version`` the file has once this step is applied (1, 2, ...).
    description
        What the step does, for people.
    apply
        SQL statements (a script of ``;``-terminated statements) or a function
        given the connection, run inside the migration transaction.
    """

    version: int
    description: str
    apply: str | Callable[[sqlite3.Connection], None]


_OPERATIONS = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '2');
CREATE TABLE IF NOT EXISTS operations (
    party TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    updated_s REAL NOT NULL,
    PRIMARY KEY (party, id)
);
CREATE TABLE IF NOT EXISTS volumes (
    rowid INTEGER PRIMARY KEY,
    party TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    volume_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    lower_m REAL NOT NULL,
    lower_ref TEXT NOT NULL,
    upper_m REAL NOT NULL,
    upper_ref TEXT NOT NULL,
    time_start_s REAL NOT NULL,
    time_end_s REAL NOT NULL,
    centre_lon_deg REAL,
    centre_lat_deg REAL,
    radius_m REAL,
    shape_wkb BLOB NOT NULL,
    outer_wkb BLOB,
    inner_wkb BLOB,
    live INTEGER NOT NULL,
    index_parts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS volumes_by_operation ON volumes (party, operation_id);
CREATE VIRTUAL TABLE IF NOT EXISTS volume_index USING rtree(
    id, lon0, lon1, lat0, lat1, alt0, alt1, t0, t1
);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY,
    party_a TEXT NOT NULL,
    operation_a TEXT NOT NULL,
    party_b TEXT NOT NULL,
    operation_b TEXT NOT NULL,
    state TEXT NOT NULL,
    facts TEXT NOT NULL,
    created_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conflicts_a ON conflicts (party_a, operation_a);
CREATE INDEX IF NOT EXISTS conflicts_b ON conflicts (party_b, operation_b);
"""

_PARTIES = """
CREATE TABLE IF NOT EXISTS parties (
    name TEXT PRIMARY KEY,
    public_key_pem TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_s REAL NOT NULL,
    revoked_s REAL
);
"""

_MESSAGES = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    code TEXT NOT NULL,
    params_json TEXT NOT NULL,
    text TEXT NOT NULL,
    reply_by TEXT,
    reply_by_s REAL,
    nonce TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_s REAL NOT NULL,
    level TEXT NOT NULL,
    delivered_s REAL,
    read_s REAL,
    answered_s REAL,
    reason TEXT,
    overdue_s REAL,
    escalation_steps INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sender, nonce)
);
CREATE INDEX IF NOT EXISTS messages_recipient ON messages (recipient, level);
CREATE INDEX IF NOT EXISTS messages_sender ON messages (sender);
CREATE INDEX IF NOT EXISTS messages_deadline ON messages (reply_by_s) WHERE reply_by_s IS NOT NULL;
CREATE TABLE IF NOT EXISTS escalations (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    step INTEGER NOT NULL,
    code TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    due_s REAL NOT NULL,
    recorded_s REAL NOT NULL,
    PRIMARY KEY (message_id, step)
);
CREATE INDEX IF NOT EXISTS escalations_sender ON escalations (sender);
CREATE INDEX IF NOT EXISTS escalations_recipient ON escalations (recipient);
"""

_AUDIT = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    time_s REAL NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    audience TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_kind_subject ON audit_log (kind, subject);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_CONFLICT_STATES = """
CREATE TABLE IF NOT EXISTS conflict_states (
    conflict_id INTEGER PRIMARY KEY,
    party_a TEXT NOT NULL,
    party_b TEXT NOT NULL,
    acknowledged_a_s REAL,
    acknowledged_b_s REAL,
    accepted_a_s REAL,
    accept_a_reason TEXT,
    accepted_b_s REAL,
    accept_b_reason TEXT,
    resolution TEXT,
    resolved_by TEXT,
    resolved_s REAL,
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conflict_states_a ON conflict_states (party_a);
CREATE INDEX IF NOT EXISTS conflict_states_b ON conflict_states (party_b);
"""


def _token_rotation(db: sqlite3.Connection) -> None:
    """A party's previous token hash and until when it is accepted (``deconflict party rotate``).

    Columns are added only when missing, so a file adopted at ``user_version`` 0
    that has them already is taken as is, like the tables of steps 1 to 5.
    """
    have = {str(row[1]) for row in db.execute("PRAGMA table_info(parties)")}
    for column, kind in (("previous_token_sha256", "TEXT"), ("previous_token_until_s", "REAL")):
        if column not in have:
            db.execute(f"ALTER TABLE parties ADD COLUMN {column} {kind}")
    db.execute(
        "CREATE INDEX IF NOT EXISTS parties_previous_token ON parties (previous_token_sha256) "
        "WHERE previous_token_sha256 IS NOT NULL"
    )


_LIVE = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    party_a TEXT NOT NULL,
    aircraft_a TEXT NOT NULL,
    party_b TEXT NOT NULL,
    aircraft_b TEXT NOT NULL,
    started_s REAL NOT NULL,
    ended_s REAL,
    closest_time_s REAL NOT NULL,
    closest_distance_m REAL NOT NULL,
    closest_vertical_m REAL NOT NULL,
    closest_lon_deg REAL NOT NULL,
    closest_lat_deg REAL NOT NULL,
    closest_alt_m REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_a ON incidents (party_a, started_s);
CREATE INDEX IF NOT EXISTS incidents_b ON incidents (party_b, started_s);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (id) WHERE ended_s IS NULL;
CREATE TABLE IF NOT EXISTS incident_comments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    party TEXT NOT NULL,
    time_s REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_comments_incident ON incident_comments (incident_id);
CREATE TABLE IF NOT EXISTS alert_log (
    number INTEGER PRIMARY KEY,
    party_a TEXT NOT NULL,
    aircraft_a TEXT NOT NULL,
    party_b TEXT NOT NULL,
    aircraft_b TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL
);
CREATE INDEX IF NOT EXISTS alert_log_a ON alert_log (party_a, start_s);
CREATE INDEX IF NOT EXISTS alert_log_b ON alert_log (party_b, start_s);
"""


def _incident_withheld(db: sqlite3.Connection) -> None:
    """The parties whose view of an incident's closest approach is withheld (comma-separated).

    Added only when missing, as in :func:`_token_rotation`.
    """
    have = {str(row[1]) for row in db.execute("PRAGMA table_info(incidents)")}
    if "withheld" not in have:
        db.execute("ALTER TABLE incidents ADD COLUMN withheld TEXT NOT NULL DEFAULT ''")


_DISCLOSURES = """
CREATE TABLE IF NOT EXISTS disclosures (
    subject TEXT NOT NULL,
    number INTEGER NOT NULL,
    time_s REAL NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    fields TEXT NOT NULL,
    reason_ref TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (subject, number)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS disclosures_pair ON disclosures (subject, recipient, kind, time_s);
"""

# The filing path writes two conflict entries per conflict: an index over them all cost each filing a
# leaf page per subject. Conflict entries are found by the primary key (subject, number) and counted in
# memory (storage.sqlite.ledger); the other kinds keep the pair index, which a query uses by repeating
# its condition ``kind <> 'conflict'``.
_DISCLOSURES_PAIR_WITHOUT_CONFLICTS = """
DROP INDEX IF EXISTS disclosures_pair;
CREATE INDEX IF NOT EXISTS disclosures_pair_events ON disclosures (subject, recipient, kind, time_s)
    WHERE kind <> 'conflict';
"""

_LEGACY_SCHEMA_VERSION = "2"
"""What the ``meta`` table of every file this code reads says (the operations store's format)."""


def _drop_meta(db: sqlite3.Connection) -> None:
    """Drop the ``meta`` table: ``user_version`` is the one schema version.

    Its ``schema_version`` was 2 in every file migrations wrote; a file adopted at
    ``user_version`` 0 whose ``meta`` says otherwise was written by a deconflict
    this one cannot read, and is refused, as the operations store refused it before.
    """
    have = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if have is None:
        return
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and str(row[0]) != _LEGACY_SCHEMA_VERSION:
        path = str(db.execute("PRAGMA database_list").fetchone()[2]) or "database"
        raise DeconflictError(
            f"{path}: database schema version {row[0]}, this deconflict reads version "
            f"{_LEGACY_SCHEMA_VERSION}; export with the version that wrote it"
        )
    db.execute("DROP TABLE meta")


def _public_id_secret(db: sqlite3.Connection) -> None:
    """The secret of the ids parties are shown (:mod:`deconflict.channel.public_ids`), made with the file.

    One row, in the database so a backup carries it; ``since_seq`` is the first
    audit entry that names objects by public id (those before it, written by an
    older server, name rows).
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS public_id_secret "
        "(one INTEGER PRIMARY KEY CHECK (one = 1), secret TEXT NOT NULL, since_seq INTEGER NOT NULL)"
    )
    db.execute(
        "INSERT OR IGNORE INTO public_id_secret (one, secret, since_seq) "
        "SELECT 1, ?, COALESCE(MAX(seq), 0) + 1 FROM audit_log",
        (new_secret().hex(),),
    )


_ZONES = """
CREATE TABLE IF NOT EXISTS zones (
    party TEXT NOT NULL,
    identifier TEXT NOT NULL,
    zone TEXT NOT NULL,
    published_s REAL NOT NULL,
    PRIMARY KEY (party, identifier)
);
"""

_BLIND_RELAY = """
CREATE TABLE IF NOT EXISTS blind_sessions (
    id TEXT PRIMARY KEY,
    initiator TEXT NOT NULL,
    peer TEXT NOT NULL,
    parameters TEXT NOT NULL,
    started_s REAL NOT NULL,
    ended_s REAL
);
CREATE INDEX IF NOT EXISTS blind_sessions_started ON blind_sessions (started_s);
CREATE TABLE IF NOT EXISTS blind_messages (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES blind_sessions (id),
    sender TEXT NOT NULL,
    phase TEXT NOT NULL,
    body BLOB NOT NULL,
    posted_s REAL NOT NULL,
    UNIQUE (session_id, sender, phase)
);
"""


_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    party TEXT NOT NULL,
    kind TEXT NOT NULL,
    time_s REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_party ON events (party, id);
CREATE INDEX IF NOT EXISTS events_time ON events (time_s);
CREATE TABLE IF NOT EXISTS event_relay (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    epoch TEXT NOT NULL,
    published_id INTEGER NOT NULL,
    pruned_id INTEGER NOT NULL
);
INSERT OR IGNORE INTO event_relay (one, epoch, published_id, pruned_id)
VALUES (1, lower(hex(randomblob(16))), 0, 0);
"""


_PLAIN_VOLUME_INDEX = """
CREATE TABLE volume_boxes (
    id INTEGER PRIMARY KEY,
    lon0 REAL NOT NULL,
    lon1 REAL NOT NULL,
    lat0 REAL NOT NULL,
    lat1 REAL NOT NULL,
    alt0 REAL NOT NULL,
    alt1 REAL NOT NULL,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL
);
INSERT INTO volume_boxes SELECT id, lon0, lon1, lat0, lat1, alt0, alt1, t0, t1 FROM volume_index ORDER BY id;
DROP TABLE volume_index;
ALTER TABLE volume_boxes RENAME TO volume_index;
"""
"""The volume boxes as a plain table, appended to by filings; the store searches its copy in memory.

An R*Tree rebalances its nodes on every insert (most of a filing's write cost);
a rowid table only appends. The R*Tree's boxes (32-bit floats, rounded
outward) are kept as they are: each still contains its volume.
"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "operations, volumes, R*Tree index, conflicts, meta", _OPERATIONS),
    Migration(2, "parties and their token hashes", _PARTIES),
    Migration(3, "hotline messages and escalations", _MESSAGES),
    Migration(4, "audit chain and its public key", _AUDIT),
    Migration(5, "conflict lifecycle records", _CONFLICT_STATES),
    Migration(6, "live picture: incidents, their comments, the alert log", _LIVE),
    Migration(7, "a party's previous token, accepted until its grace period ends", _token_rotation),
    Migration(8, "incidents: the parties whose view of the closest approach is withheld", _incident_withheld),
    Migration(
        9, "the disclosure ledger: what each party was told about another, numbered per subject", _DISCLOSURES
    ),
    Migration(
        10,
        "the disclosure ledger's pair index leaves conflict entries out (cheaper filings)",
        _DISCLOSURES_PAIR_WITHOUT_CONFLICTS,
    ),
    Migration(11, "drop the meta table: user_version is the one schema version", _drop_meta),
    Migration(
        12, "the secret of the ids parties are shown (a keyed permutation of row ids)", _public_id_secret
    ),
    Migration(13, "geographical zones published by parties", _ZONES),
    # PostgreSQL's step 14 makes what nodes sharing a database need; a SQLite file has one node.
    Migration(14, "nothing: a cluster's shared state lives only in PostgreSQL", ""),
    Migration(15, "the event outbox: every party event, numbered, stored with its fact", _EVENTS),
    Migration(
        16,
        "volume_index becomes a plain table of boxes (searched in memory; no R*Tree to rebalance)",
        _PLAIN_VOLUME_INDEX,
    ),
    Migration(
        17, "the blind relay: sessions and their opaque messages, deleted when a session ends", _BLIND_RELAY
    ),
)
"""Every step of the schema, in order; versions are 1, 2, ... without gaps."""

LATEST_VERSION = MIGRATIONS[-1].version
"""The version this code writes and reads."""


def _statements(script: str) -> list[str]:
    """Split a script into statements (``executescript`` would commit the open transaction)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()!r}")
    return out


def schema_version(db: sqlite3.Connection) -> int:
    """The migration version a database file has reached (``PRAGMA user_version``)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(version: int, path: str) -> None:
    if version > LATEST_VERSION:
        raise DeconflictError(
            f"{path}: database schema version {version} is newer than this deconflict "
            f"(knows up to {LATEST_VERSION}); upgrade deconflict to open it"
        )


def migrate(db: sqlite3.Connection, path: str = "database", target: int | None = None) -> int:
    """Bring a database up to ``target`` (the latest by default); return the version reached.

    Parameters
    ----------
    db
        A connection in autocommit mode (``isolation_level=None``), not inside a transaction.
    path
        The file's name, for error messages.
    target
        Stop at this version (tests build older files this way).

    Returns
    -------
    int
        The file's version afterwards.

    Raises
    ------
    DeconflictError
        If the file was written by a newer deconflict.
    """
    goal = LATEST_VERSION if target is None else target
    current = schema_version(db)
    _refuse_newer(current, path)
    if current >= goal:
        return current
    # Writers queue here: the second opener re-reads the version once it holds the lock.
    db.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(db)
        _refuse_newer(current, path)
        for step in MIGRATIONS:
            if current < step.version <= goal:
                if isinstance(step.apply, str):
                    for statement in _statements(step.apply):
                        db.execute(statement)
                else:
                    step.apply(db)
                current = step.version
        db.execute(f"PRAGMA user_version = {int(current)}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return current
