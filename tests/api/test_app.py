"""The app factory does no work until the app starts.

(That the domain imports no web framework or database driver is a contract of `lint-imports`, in
pyproject.toml, which `make lint` runs.)
"""

from __future__ import annotations

from pathlib import Path

from deconflict.api import create_app
from deconflict.config import Settings


def test_creating_the_app_opens_nothing_until_it_starts(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    create_app(Settings(db_path=db))
    assert not db.exists()
