"""``deconflict db backup|restore`` of a PostgreSQL database: pg_dump, the dump checked, restored elsewhere.

A channel that filed, conflicted and messaged is dumped; the dump restored into
a new database serves the same operations, conflicts and messages with the same
tokens, its audit chain verifies (``audit verify``), ``party list`` reads it. A
truncated or corrupted dump is refused naming the file; a restore refuses a
database that has tables, and a dump from a newer deconflict.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.cli import main
from deconflict.config import Settings
from deconflict.errors import DeconflictError
from deconflict.storage.postgres.backup import check_dump
from deconflict.storage.postgres.migrations import LATEST_VERSION
from tests.api.conftest import Channel, open_channel
from tests.api.test_audit import realistic_sequence
from tests.cluster.servers import PG_BIN, PostgresServer
from tests.conftest import new_database
from tests.fakes import FakeClock

_VIEWS = (
    ("blue", "/v1/operations"),
    ("red", "/v1/operations"),
    ("blue", "/v1/conflicts"),
    ("red", "/v1/conflicts"),
    ("blue", "/v1/messages?box=outbox"),
    ("blue", "/v1/messages?box=inbox"),
    ("red", "/v1/messages?box=inbox"),
)


def _views(client: TestClient, tokens: dict[str, str]) -> list[Any]:
    answers = [client.get(path, headers={"Authorization": f"Bearer {tokens[p]}"}) for p, path in _VIEWS]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.json() for a in answers]


@pytest.fixture
def dumped(
    postgres: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, Channel, list[Any], Settings]:
    """A channel on a new database after a realistic sequence, its views, and its dump."""
    settings = Settings(db_url=new_database(postgres), audit_key_path=tmp_path / "audit-key.pem")
    with open_channel(settings, "blue", "red", "green", "gone", revoked=("gone",)) as channel:
        realistic_sequence(channel)
        views = _views(channel.client, channel.tokens)
        dump = tmp_path / "channel.dump"
        url = settings.db_url.get_secret_value() if settings.db_url else ""
        assert main(["db", "backup", str(dump), "--db", url]) == 0  # online: the app still runs
    out = capsys.readouterr().out
    assert f"backup written to {dump}" in out and f"schema version {LATEST_VERSION}" in out
    assert "audit chain verified" in out
    assert not dump.with_name("channel.dump.partial").exists()
    assert dump.stat().st_mode & 0o777 == 0o600
    return dump, channel, views, settings


def test_a_restored_dump_serves_the_same_channel_and_its_chain_verifies(
    dumped: tuple[Path, Channel, list[Any], Settings],
    postgres: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dump, channel, views, settings = dumped
    restored = new_database(postgres)
    assert main(["db", "restore", str(dump), "--db", restored]) == 0
    out = capsys.readouterr().out
    assert f"restored {dump}" in out and "audit chain verified" in out
    again = Settings(db_url=restored, audit_key_path=settings.audit_key_path)
    with TestClient(create_app(again, clock=FakeClock(channel.clock.now))) as client:
        assert _views(client, channel.tokens) == views
    monkeypatch.setenv("DECONFLICT_AUDIT_KEY_PATH", str(settings.audit_key_path))
    pin = tmp_path / "server-key.pem"
    assert main(["audit", "verify", "--db", restored, "--pin", str(pin)]) == 0
    assert "chain verified" in capsys.readouterr().out
    assert main(["party", "list", "--db", restored]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("blue", "red", "green", "gone"))


def test_a_truncated_or_corrupted_dump_is_refused_naming_the_file(
    dumped: tuple[Path, Channel, list[Any], Settings],
    postgres: PostgresServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dump = dumped[0]
    data = dump.read_bytes()
    truncated = dump.with_name("truncated.dump")
    truncated.write_bytes(data[: len(data) // 2])
    corrupted = dump.with_name("corrupted.dump")
    corrupted.write_bytes(b"\0" * 64 + data[64:])
    cut_short = dump.with_name("cut-short.dump")  # the table of contents whole, the last data block cut
    cut_short.write_bytes(data[:-200])
    with pytest.raises(DeconflictError, match="damaged dump"):  # found only by reading every block
        check_dump(cut_short)
    for bad in (truncated, corrupted, cut_short):
        target = new_database(postgres)
        assert main(["db", "restore", str(bad), "--db", target]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err, err
        with psycopg.connect(target) as connection:
            (count,) = connection.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'operations'"
            ).fetchone() or (None,)
        assert count == 0  # nothing restored


def test_a_restore_refuses_a_database_with_tables(
    dumped: tuple[Path, Channel, list[Any], Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    dump, _, _, settings = dumped
    url = settings.db_url.get_secret_value() if settings.db_url else ""
    assert main(["db", "restore", str(dump), "--db", url]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err


def test_a_dump_from_a_newer_deconflict_is_refused(
    postgres: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deconflict.storage.postgres.database import Database

    newer = new_database(postgres)
    Database(newer).close()
    with psycopg.connect(newer, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO schema_migrations (version, description) VALUES (%s, 'from the future')",
            (LATEST_VERSION + 1,),
        )
    # Our own backup refuses to dump it; a dump made with pg_dump directly is refused on restore.
    assert main(["db", "backup", str(tmp_path / "refused.dump"), "--db", newer]) == 2
    assert "newer than this deconflict" in capsys.readouterr().err
    dump = tmp_path / "newer.dump"
    subprocess.run([str(PG_BIN / "pg_dump"), "--format=custom", f"--file={dump}", newer], check=True)
    assert check_dump(dump).schema_version == LATEST_VERSION + 1
    assert main(["db", "restore", str(dump), "--db", new_database(postgres)]) == 2
    err = capsys.readouterr().err
    assert str(dump) in err and "newer than this deconflict" in err


def test_a_broken_audit_chain_is_refused_by_backup_and_restore(
    dumped: tuple[Path, Channel, list[Any], Settings],
    postgres: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = dumped[3]
    url = settings.db_url.get_secret_value() if settings.db_url else ""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE audit_log SET payload = payload || ' ' WHERE seq = 2")
    assert main(["db", "backup", str(tmp_path / "broken.dump"), "--db", url]) == 2
    assert "audit chain does not verify" in capsys.readouterr().err
    assert not (tmp_path / "broken.dump").exists() and not (tmp_path / "broken.dump.partial").exists()
    dump = tmp_path / "raw.dump"  # dumped without the check: the restore finds it out
    subprocess.run([str(PG_BIN / "pg_dump"), "--format=custom", f"--file={dump}", url], check=True)
    assert main(["db", "restore", str(dump), "--db", new_database(postgres)]) == 2
    err = capsys.readouterr().err
    assert "audit chain does not verify" in err and "do not serve this database" in err


def test_scheduled_dumps_keep_the_newest(
    dumped: tuple[Path, Channel, list[Any], Settings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = dumped[3]
    url = settings.db_url.get_secret_value() if settings.db_url else ""
    folder = tmp_path / "backups"
    for _ in range(3):
        assert main(["db", "backup", "--db", url, "--keep", "2", str(folder)]) == 0
    kept = sorted(folder.iterdir())
    assert len(kept) == 2 and all(p.suffix == ".dump" for p in kept)
    assert "removed" in capsys.readouterr().out
    assert check_dump(kept[-1]).schema_version == LATEST_VERSION
