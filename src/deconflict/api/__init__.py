"""The channel service's REST API: an app factory, routers by resource, pydantic schemas."""

from deconflict.api.app import create_app

__all__ = ["create_app"]
