"""The channel domain knows nothing of HTTP or of a database driver."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deconflict.api import create_app
from deconflict.config import Settings


def test_importing_the_channel_domain_loads_no_web_framework_or_driver() -> None:
    code = (
        "import sys, deconflict.channel\n"
        "names = ('fastapi', 'starlette', 'uvicorn', 'sqlite3', 'pydantic')\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    # pydantic comes with deconflict.config (Settings); the domain itself uses none of these.
    assert result.stdout.strip() in ("[]", "['pydantic']")


def test_creating_the_app_opens_nothing_until_it_starts(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    create_app(Settings(db_path=db))
    assert not db.exists()
