"""Where the commands' tables and summaries go."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console"]


def console() -> Console:
    """Where tables go: stdout, 150 columns when it is not a terminal."""
    # Imported when output is made: building the parser stays cheap.
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)
