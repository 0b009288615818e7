"""``deconflict serve`` starts a real server process that answers, and stops when told."""

from __future__ import annotations

import gc
import json
import urllib.request
import weakref
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.cli.serve import YOUNG_OBJECTS, load_detector, tune_collector
from tests.cli.conftest import run_cli
from tests.servers import call_api, serve_process


def test_serve_answers_health_on_an_ephemeral_port(tmp_path: Path) -> None:
    with serve_process(tmp_path / "s.db", tmp_path / "serve.log") as (process, url):
        with urllib.request.urlopen(f"{url}/v1/health", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        with urllib.request.urlopen(f"{url}/openapi.json", timeout=10) as response:
            assert "/v1/operations" in json.loads(response.read())["paths"]
    assert process.returncode is not None


def test_serve_refuses_a_missing_database_unless_init(tmp_path: Path) -> None:
    missing = tmp_path / "chanel.db"
    done = run_cli("serve", "--db", str(missing), "--port", "0")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"error: {missing}: no such database file")
    assert not missing.exists()


def test_serve_refuses_nats_without_postgresql_and_a_url_that_is_not_nats(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    done = run_cli("serve", "--db", str(db), "--init", "--port", "0", "--nats", "nats://127.0.0.1:4222")
    assert done.returncode == 2
    assert "events cross nodes only with a PostgreSQL database" in done.stderr.splitlines()[-1]
    done = run_cli("serve", "--db", str(db), "--init", "--port", "0", "--nats", "http://127.0.0.1:4222")
    assert done.returncode == 2
    assert "expected nats://host:port URLs" in done.stderr.splitlines()[-1]
    assert not db.exists()


def test_serve_init_creates_the_database_and_logs_it_with_its_party_count(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    with serve_process(db, tmp_path / "serve.log") as (_, url):  # a new file: served with --init
        assert call_api(url, "no-token", "GET", "/v1/health")[0] == 200
    assert db.stat().st_mode & 0o777 == 0o600
    assert f"database {db.resolve()}: 0 parties" in (tmp_path / "serve.log").read_text()
    assert main(["party", "add", "blue", "--db", str(db), "--key-out", str(tmp_path / "b.pem")]) == 0
    with serve_process(db, tmp_path / "again.log"):  # an existing file: no --init needed
        assert f"database {db.resolve()}: 1 party" in (tmp_path / "again.log").read_text()


def test_a_second_server_and_a_restore_are_refused_while_a_server_runs(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert main(["party", "add", "blue", "--db", str(db), "--key-out", str(tmp_path / "b.pem")]) == 0
    assert main(["db", "backup", str(tmp_path / "b.db"), "--db", str(db)]) == 0
    with serve_process(db, tmp_path / "serve.log"):
        second = run_cli("serve", "--db", str(db), "--port", "0")
        assert second.returncode == 2
        assert "a running server holds this database" in second.stderr
        restore = run_cli("db", "restore", str(tmp_path / "b.db"), "--db", str(db), "--force")
        assert restore.returncode == 2
        assert restore.stderr.strip() == (
            f"error: {db}: a running server holds this database (lock {db}.lock); stop it first"
        )


def test_the_server_collects_its_youngest_objects_less_often_and_still_collects_cycles() -> None:
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold() == (YOUNG_OBJECTS, before[1], before[2])
        assert gc.get_freeze_count() > 0  # what was built before serving is left out of collections

        class Node:
            other: Node | None = None

        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_detector_is_loaded_after_start_up_is_frozen_and_frozen_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The kernels' typing objects, made at the first cycle, stayed in every full collection.
    import deconflict.tactical

    loaded: list[int] = []
    monkeypatch.setattr(deconflict.tactical, "warm_up", lambda: loaded.append(gc.get_freeze_count()))
    before = gc.get_freeze_count()
    try:
        load_detector().join(timeout=30)
        assert loaded == [before]
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
