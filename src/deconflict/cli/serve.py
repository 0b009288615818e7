"""``deconflict serve``: the channel service on uvicorn.

``DECONFLICT_CLOCK_FILE`` (for tests and demos only): when set, the server
reads "now" (seconds since the Unix epoch, as text) from that file at every
use instead of the system clock, so a test or a demo can move a real server's
time forward, e.g. past a message's reply-by deadline. Never set it in
production.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from deconflict.cli.party import settings_for

__all__ = ["CLOCK_FILE_ENV", "FileClock", "run_serve"]

CLOCK_FILE_ENV = "DECONFLICT_CLOCK_FILE"
"""The environment variable naming a :class:`FileClock`'s file (tests and demos only)."""


class FileClock:
    """A :class:`~deconflict.channel.deadlines.Clock` read from a file: for tests and demos only.

    Parameters
    ----------
    path
        A text file holding seconds since the Unix epoch; read at every call,
        so whoever writes it moves the server's time.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def now_s(self) -> float:
        """The time written in the file."""
        return float(self.path.read_text(encoding="ascii").strip())


def run_serve(args: argparse.Namespace) -> int:
    """Serve the API until interrupted; returns 0 after a clean shutdown."""
    import uvicorn

    from deconflict.api import create_app
    from deconflict.api.middleware import logging_config

    settings = settings_for(args.db)
    clock_file = os.environ.get(CLOCK_FILE_ENV)
    clock = FileClock(clock_file) if clock_file else None
    # Each request is logged once by the app (deconflict.api.middleware), not by uvicorn.
    uvicorn.run(
        create_app(settings, clock=clock),
        host=args.host,
        port=args.port,
        log_level="info",
        log_config=logging_config(getattr(args, "log_format", "json")),
        access_log=False,
    )
    return 0
