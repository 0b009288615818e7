"""Routers by resource: health, parties, operations, conflicts, catalogue, messages."""

__all__: list[str] = []
