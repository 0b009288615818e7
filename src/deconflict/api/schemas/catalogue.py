"""Bodies of ``GET /v1/catalogue``: the message codes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from deconflict.channel.catalogue import MessageKind

__all__ = ["CatalogueEntryOut", "CatalogueOut"]


class CatalogueEntryOut(BaseModel):
    """One message code: its texts in every language and the JSON Schema of its ``params``."""

    code: str
    title: dict[str, str] = Field(description="by language code")
    template: dict[str, str] = Field(description="by language code; {name} is parameter name")
    params_schema: dict[str, Any] = Field(description="JSON Schema (draft 2020-12) of params")

    @classmethod
    def of(cls, kind: MessageKind) -> CatalogueEntryOut:
        """The response body of a catalogue code."""
        return cls(
            code=kind.code,
            title=dict(kind.titles),
            template=dict(kind.templates),
            params_schema=dict(kind.params_schema),
        )


class CatalogueOut(BaseModel):
    """The message catalogue."""

    version: int
    languages: list[str]
    messages: list[CatalogueEntryOut]
