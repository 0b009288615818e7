"""Fixtures of the client commands' tests: the API tests' in-process channel app."""

from tests.api.conftest import channel, channel_settings

__all__ = ["channel", "channel_settings"]
