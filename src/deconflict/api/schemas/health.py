"""Body of ``GET /v1/health``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = ["HealthOut"]


class HealthOut(BaseModel):
    """The service answers."""

    status: Literal["ok"] = "ok"
    version: str
