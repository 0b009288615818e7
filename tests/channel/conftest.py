"""Fixtures of the channel's domain tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deconflict.storage import SQLitePartyStore


@pytest.fixture
def parties(tmp_path: Path) -> Iterator[SQLitePartyStore]:
    """An empty party store on a SQLite file in ``tmp_path``."""
    with SQLitePartyStore(tmp_path / "channel.db") as store:
        yield store
