"""The demo's folder: its database, the parties' tokens and private keys, the server's audit key.

A folder is only ever reused for a demo: :data:`DEMO_MARKER` names what a previous demo
wrote, and only that is replaced (:func:`prepare_folder`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.config import Settings

__all__ = [
    "DEMO_MARKER",
    "SERVER_KEY_FILE",
    "demo_files",
    "prepare_folder",
    "register_parties",
    "write_marker",
    "write_server_key",
]

DEMO_MARKER = "demo.json"
"""The file in the demo folder that names the demo's database (only such a database is replaced)."""


def demo_files(db: Path, parties: list[str]) -> list[str]:
    """Names of the files a demo writes into its folder (the database's own files included)."""
    from deconflict.storage.sqlite.audit import audit_key_path

    database = [db.name, f"{db.name}-wal", f"{db.name}-shm", audit_key_path(db).name, SERVER_KEY_FILE]
    return database + [f"{p}.token" for p in parties] + [f"{p}.ed25519.pem" for p in parties]


SERVER_KEY_FILE = "server-audit-key.pub.pem"
"""The server's audit public key, written into the demo folder: what `audit verify --key` checks with."""


def write_server_key(settings: Settings, folder: Path) -> Path:
    """Write the server's audit public key into ``folder`` (the key exists once a party is registered)."""
    from deconflict.storage import open_storage

    path = folder / SERVER_KEY_FILE
    with open_storage(settings) as storage:
        path.write_text(storage.audit.public_key_pem, encoding="ascii")
    return path


def prepare_folder(db: Path, parties: list[str]) -> Path:
    """Make ``db``'s folder ready for a fresh demo; returns the folder.

    A previous demo's database and files (named by :data:`DEMO_MARKER`) are
    removed; anything else is never overwritten.

    Raises
    ------
    InputError
        If ``db`` (or another file the demo writes) exists and is not a previous demo's.
    """
    folder = db.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = Problem(str(folder), f"cannot create the demo folder: {exc.strerror or exc}")
        raise InputError([problem]) from exc
    marker = folder / DEMO_MARKER
    previous: dict[str, Any] = {}
    if marker.is_file():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
    ours = set(previous.get("files", [])) if previous.get("database") == db.name else set()
    names = demo_files(db, parties)
    for name in names:
        path = folder / name
        if path.exists() and name not in ours:
            what = "database" if name == db.name else "file"
            raise InputError(
                [
                    Problem(
                        str(path),
                        f"exists and is not a demo {what} (no {DEMO_MARKER} names it): "
                        "choose another --db; the demo never overwrites other data",
                    )
                ]
            )
    for name in names:  # only what this demo writes, whatever else the marker lists
        (folder / name).unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return folder


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def register_parties(settings: Settings, folder: Path, parties: list[str]) -> dict[str, dict[str, str]]:
    """Register the parties; write each one's token and private key into ``folder``."""
    from deconflict.channel.service.parties import add_party
    from deconflict.storage import open_storage

    found: dict[str, dict[str, str]] = {}
    with open_storage(settings) as storage:
        for name in parties:
            registration = add_party(storage.parties, storage.audit, name, None, time.time())
            assert registration.private_key_pem is not None
            token_path, key_path = folder / f"{name}.token", folder / f"{name}.ed25519.pem"
            _write_secret(token_path, registration.token.encode("ascii") + b"\n")
            _write_secret(key_path, registration.private_key_pem)
            found[name] = {
                "token": registration.token,
                "token_file": str(token_path.resolve()),
                "key_file": str(key_path.resolve()),
            }
    return found


def write_marker(folder: Path, db: Path, parties: list[str]) -> None:
    """Name in ``folder`` what the demo on ``db`` writes, so that the next demo may replace it."""
    marker = {"database": db.name, "files": demo_files(db, parties)}
    (folder / DEMO_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
