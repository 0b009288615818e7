"""``deconflict serve``: the channel service on uvicorn."""

from __future__ import annotations

import argparse

from deconflict.cli.party import settings_for

__all__ = ["run_serve"]


def run_serve(args: argparse.Namespace) -> int:
    """Serve the API until interrupted; returns 0 after a clean shutdown."""
    import uvicorn

    from deconflict.api import create_app

    settings = settings_for(args.db)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0
