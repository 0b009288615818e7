"""The app factory does no work until the app starts.

(That the domain imports no web framework or database driver is a contract of `lint-imports`, in
pyproject.toml, which `make lint` runs.)
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.config import Settings
from deconflict.storage import open_storage


def test_creating_the_app_opens_nothing_until_it_starts(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    create_app(Settings(db_path=db))
    assert not db.exists()


def test_a_storage_given_is_used_and_left_open(tmp_path: Path) -> None:
    given = open_storage(tmp_path / "given.db")
    settings = Settings(db_path=tmp_path / "never.db")
    try:
        with TestClient(create_app(settings, storage=given)) as client:
            assert client.app.state.services.storage is given  # type: ignore[attr-defined]
            assert client.get("/v1/ready").json()["status"] == "ready"  # the given file, not never.db
        assert given.parties.list_parties() == []  # still open: the caller closes it
    finally:
        given.close()
    assert not settings.db_path.exists()
