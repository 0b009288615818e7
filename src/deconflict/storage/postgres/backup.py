"""Backup and restore of a PostgreSQL database with ``pg_dump`` / ``pg_restore``.

A backup is one ``pg_dump --format=custom`` of the database: a consistent
snapshot (one repeatable-read transaction) taken while servers keep writing.
The database's schema version is checked first (a database written by a newer
deconflict is refused); the dump is written to ``<target>.partial`` and
checked before it is moved into place, so a failed backup never leaves a
half-written file under the target's name.

A dump is checked (:func:`check_dump`) before every use: ``pg_restore --list``
must read it, it must hold the expected tables, ``pg_restore`` must read every
data block of it (to nowhere), and its ``schema_migrations``
data gives the migration version (a dump from a newer deconflict is refused on
restore). A restore goes only into an empty database (unless ``force``: then
the dump's objects replace the target's), in one transaction, and the restored
audit chain is verified (:func:`~deconflict.channel.audit_verify.verify_chain`)
against the public key stored with it.

The server's private audit key is no part of the database
(``DECONFLICT_AUDIT_KEY_PATH``): keep a copy of it with the dumps; a restored
server must go on signing the same chain.

``pg_dump`` and ``pg_restore`` are found on ``PATH``, else in the newest
``/usr/lib/postgresql/N/bin`` (Debian's layout); they must be at least as new as
the server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from deconflict.errors import DeconflictError
from deconflict.storage.postgres.database import display_url
from deconflict.storage.postgres.migrations import LATEST_VERSION, schema_version

__all__ = ["DumpSummary", "backup_postgres", "check_dump", "restore_postgres"]

EXPECTED_TABLES = ("schema_migrations", "operations", "volumes", "parties", "messages", "audit_log")
"""Tables every deconflict dump holds (all migration versions that back up)."""

_AUDIT_COLUMNS = "seq, time_s, actor, kind, subject, audience, payload, prev_hash, hash, signature"
_TOOL_TIMEOUT_S = 3600.0
_TABLE_LINE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ")


@dataclass(frozen=True)
class DumpSummary:
    """What a dump holds: its file, size, migration version, tables; how long the work took."""

    path: Path
    bytes: int
    duration_s: float
    schema_version: int
    tables: tuple[str, ...]
    audit_entries: int | None = None  # verified on restore


def _tool(name: str) -> str:
    """The path of ``pg_dump`` / ``pg_restore``: on ``PATH``, else the newest Debian PostgreSQL's."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise DeconflictError(
            f"{name}: not found on PATH nor in /usr/lib/postgresql/*/bin; install postgresql-client"
        )
    return str(candidates[-1])


def _without_password(url: str) -> tuple[str, dict[str, str]]:
    """``url`` as a libpq connection string without its password, and the environment that carries it
    (``PGPASSWORD``): a password on a command line is visible to every user of the machine."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DeconflictError(f"{display_url(url)}: not a valid database URL: {exc}") from exc
    password = parts.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in parts.items()}), env


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL tool; its stdout, or a :class:`DeconflictError` naming ``what`` with its stderr."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeconflictError(f"{what}: {Path(command[0]).name} failed: {exc}") from exc
    if done.returncode != 0:
        detail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit status {done.returncode}"
        raise DeconflictError(f"{what}: {Path(command[0]).name} failed: {detail}")
    return done.stdout


def check_dump(path: Path | str) -> DumpSummary:
    """Check a dump before use: readable by ``pg_restore``, with deconflict's tables and a migration version.

    Raises
    ------
    DeconflictError
        Naming the file: missing, not a custom-format dump (truncated, corrupted), or not a
        deconflict database.
    """
    path = Path(path)
    started = time.perf_counter()
    if not path.is_file():
        raise DeconflictError(f"{path}: no such dump file")
    listing = _run([_tool("pg_restore"), "--list", str(path)], f"{path}: not a readable dump")
    tables = tuple(sorted({m.group(2) for line in listing.splitlines() if (m := _TABLE_LINE.match(line))}))
    missing = [t for t in EXPECTED_TABLES if t not in tables]
    if missing:
        raise DeconflictError(f"{path}: not a deconflict database dump (no table {', '.join(missing)})")
    # Every data block read back (a dump cut short or damaged anywhere fails here), written nowhere.
    _run([_tool("pg_restore"), f"--file={os.devnull}", str(path)], f"{path}: damaged dump")
    # The data of schema_migrations: the migration version.
    data = _run(
        [_tool("pg_restore"), "--data-only", "--table=schema_migrations", "--file=-", str(path)],
        f"{path}: unreadable data",
    )
    version = _migration_version(data, path)
    return DumpSummary(path, path.stat().st_size, time.perf_counter() - started, version, tables)


def _migration_version(sql: str, path: Path) -> int:
    """The highest version in the ``COPY ... schema_migrations`` block of a plain-SQL data dump."""
    versions: list[int] = []
    copying = False
    for line in sql.splitlines():
        if line.startswith("COPY ") and "schema_migrations" in line:
            copying = True
        elif copying and line == "\\.":
            break
        elif copying and line:
            head = line.split("\t", 1)[0]
            if not head.isdigit():
                raise DeconflictError(f"{path}: schema_migrations holds {head!r}, not a version")
            versions.append(int(head))
    if not versions:
        raise DeconflictError(f"{path}: no migration version in the dump (schema_migrations is empty)")
    return max(versions)


def backup_postgres(url: str, target: Path | str, *, overwrite: bool = False) -> DumpSummary:
    """Dump the database at ``url`` to ``target`` (``pg_dump`` custom format), checked before it is kept.

    Raises
    ------
    DeconflictError
        If the database cannot be reached, is not migrated or is newer than this deconflict,
        the target exists and ``overwrite`` is false, or the dump fails its check.
    """
    target = Path(target)
    where = display_url(url)
    if not target.parent.is_dir():
        raise DeconflictError(f"{target.parent}: no such folder (for {target.name}); create it first")
    if target.exists() and not overwrite:
        raise DeconflictError(f"{target}: exists; choose another name or pass --force to overwrite it")
    partial = target.with_name(target.name + ".partial")
    if partial.exists() or partial.is_symlink():
        raise DeconflictError(
            f"{partial}: exists (another backup running, or left over): make sure none runs, then remove it"
        )
    started = time.perf_counter()
    conninfo, env = _without_password(url)
    with _connect(url, where) as connection:
        # One snapshot, exported to pg_dump: the version and the chain checked are those dumped.
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with connection.transaction():
            row = connection.execute("SELECT pg_export_snapshot()").fetchone()
            snapshot = str(row[0]) if row is not None else ""
            version = schema_version(connection)
            if version == 0:
                raise DeconflictError(
                    f"{where}: not a deconflict database (no schema_migrations); nothing to back up"
                )
            if version > LATEST_VERSION:
                raise DeconflictError(
                    f"{where}: database schema version {version} is newer than this deconflict "
                    f"(knows up to {LATEST_VERSION}); back it up with the deconflict that wrote it"
                )
            entries = _verify_chain(connection, where)
            try:
                _run(
                    [
                        _tool("pg_dump"),
                        "--format=custom",
                        "--no-owner",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                        f"--dbname={conninfo}",
                    ],
                    f"{where}: backup",
                    env,
                )
                os.chmod(partial, 0o600)
                summary = check_dump(partial)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    os.replace(partial, target)
    return DumpSummary(
        target,
        target.stat().st_size,
        time.perf_counter() - started,
        summary.schema_version,
        summary.tables,
        entries,
    )


def _connect(url: str, where: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise DeconflictError(f"{where}: cannot connect: {exc}") from exc


def _user_tables(url: str, where: str) -> list[str]:
    """Tables of the database that no extension made (PostGIS's ``spatial_ref_sys`` is not counted)."""
    with _connect(url, where) as connection:
        rows = connection.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
            "AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1"
        ).fetchall()
    return [str(r[0]) for r in rows]


def restore_postgres(source: Path | str, url: str, *, force: bool = False) -> DumpSummary:
    """Restore the dump ``source`` into the database at ``url`` (empty, unless ``force``), then verify
    its audit chain.

    Raises
    ------
    DeconflictError
        If the dump fails its check or is from a newer deconflict, the target has tables and
        ``force`` is false, ``pg_restore`` fails (nothing is restored: one transaction), or the
        restored audit chain does not verify.
    """
    started = time.perf_counter()
    where = display_url(url)
    summary = check_dump(source)
    if summary.schema_version > LATEST_VERSION:
        raise DeconflictError(
            f"{summary.path}: dump of schema version {summary.schema_version}, newer than this deconflict "
            f"(knows up to {LATEST_VERSION}); restore it with the deconflict that wrote it"
        )
    existing = _user_tables(url, where)
    if existing and not force:
        shown = ", ".join(existing[:5]) + (", …" if len(existing) > 5 else "")
        raise DeconflictError(
            f"{where}: not empty ({len(existing)} tables: {shown}); restore into a new database, "
            "or pass --force to replace the dump's tables in it"
        )
    command = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction"]
    if existing:
        command += ["--clean", "--if-exists"]
    conninfo, env = _without_password(url)
    _run([*command, f"--dbname={conninfo}", str(summary.path)], f"{where}: restore of {summary.path}", env)
    with _connect(url, where) as connection:
        try:
            entries = _verify_chain(connection, where)
        except DeconflictError as exc:
            raise DeconflictError(f"{exc}; restored, but do not serve this database: drop it") from exc
    return DumpSummary(
        summary.path,
        summary.bytes,
        time.perf_counter() - started,
        summary.schema_version,
        summary.tables,
        entries,
    )


def _verify_chain(connection: psycopg.Connection[Any], where: str) -> int:
    """Verify the audit chain the connection sees against the public key stored with it; its length."""
    from deconflict.channel.audit_verify import verify_chain
    from deconflict.storage.rows import audit_entry

    rows = connection.cursor(row_factory=dict_row).execute(
        f"SELECT {_AUDIT_COLUMNS} FROM audit_log ORDER BY seq"
    )
    entries = [audit_entry(r) for r in rows.fetchall()]
    if not entries:
        return 0
    key = connection.execute("SELECT value FROM audit_meta WHERE key = 'public_key_pem'").fetchone()
    if key is None:
        raise DeconflictError(f"{where}: an audit chain without its public key (audit_meta)")
    try:
        return verify_chain(entries, str(key[0]))
    except DeconflictError as exc:
        raise DeconflictError(f"{where}: the audit chain does not verify: {exc}") from exc
