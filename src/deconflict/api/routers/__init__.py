"""Routers by resource: health, parties, operations, conflicts."""

__all__: list[str] = []
