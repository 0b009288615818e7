"""The margins grown around every planned volume before it is tested for conflicts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Buffers"]


@dataclass(frozen=True)
class Buffers:
    """Margins added around every volume before testing for conflicts.

    Each volume is grown by these amounts on every side, so two volumes closer
    than twice a buffer conflict.
    """

    buffer_m: float = 0.0
    vertical_buffer_m: float = 0.0
    time_buffer_s: float = 0.0
