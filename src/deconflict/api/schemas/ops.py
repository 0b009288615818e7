"""Body of ``GET /v1/ready``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ReadyOut"]


class ReadyOut(BaseModel):
    """Whether the service can serve requests: its database answers at the latest schema version."""

    status: Literal["ready", "not ready"]
    reason: str | None = Field(default=None, description="why not, when not ready")
