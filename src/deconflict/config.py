"""Settings: every default in one place, read from the environment only when asked.

Nothing is read at import time: :func:`load_settings` builds a :class:`Settings`
from ``DECONFLICT_*`` environment variables when a program starts, and the
domain receives the plain frozen dataclasses it needs (:class:`Buffers`,
:class:`Limits`, :class:`~deconflict.units.AltitudeMargins`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from deconflict.units import AltitudeMargins

__all__ = ["Buffers", "Limits", "Settings", "load_settings", "parse_bind"]


@dataclass(frozen=True)
class Buffers:
    """Margins added around every volume before testing for conflicts.

    Each volume is grown by these amounts on every side, so two volumes closer
    than twice a buffer conflict.
    """

    buffer_m: float = 0.0
    vertical_buffer_m: float = 0.0
    time_buffer_s: float = 0.0


@dataclass(frozen=True)
class Limits:
    """Sanity limits on input, each reported with a clear message when exceeded.

    Altitudes outside what anyone can mean are refused rather than planned for:
    flight levels above FL 660, the upper limit of controlled airspace in Europe
    (ICAO EUR; the highest flight level any air navigation service publishes),
    and heights in metres or feet below -1,000 m (the lowest land, the Dead Sea
    shore, is at -430 m, less than 110 m of geoid) or above 100 km (the Kármán
    line, where airspace ends).
    """

    max_file_bytes: int = 64 * 1024 * 1024
    max_volumes_per_file: int = 100_000
    max_volumes_per_operation: int = 1_000
    max_vertices_per_ring: int = 10_000
    max_radius_m: float = 2_000_000.0
    max_flight_level: float = 660.0
    min_altitude_m: float = -1_000.0
    max_altitude_m: float = 100_000.0


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6 address]:PORT`` too) as a host and a port number (0: any free port).

    Raises
    ------
    ValueError
        Naming the form expected and the value given.

    Examples
    --------
    >>> parse_bind("127.0.0.1:9100"), parse_bind("[::1]:0")
    (('127.0.0.1', 9100), ('::1', 0))
    """
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT with a port 0..65535, got {text!r}")
    return host, int(port)


_MARGINS = AltitudeMargins()
_LIMITS = Limits()


class Settings(BaseSettings):
    """Process-wide settings, from ``DECONFLICT_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DECONFLICT_", extra="forbid")

    db_path: Path = Field(default=Path("deconflict.db"), description="SQLite database file")
    buffer_m: float = Field(default=0.0, ge=0.0)
    vertical_buffer_m: float = Field(default=0.0, ge=0.0)
    time_buffer_s: float = Field(default=0.0, ge=0.0)
    geoid_min_m: float = _MARGINS.geoid_min_m
    geoid_max_m: float = _MARGINS.geoid_max_m
    terrain_min_m: float = _MARGINS.terrain_min_m
    terrain_max_m: float = _MARGINS.terrain_max_m
    qnh_min_hpa: float = _MARGINS.qnh_min_hpa
    qnh_max_hpa: float = _MARGINS.qnh_max_hpa
    max_file_bytes: int = Field(default=_LIMITS.max_file_bytes, gt=0)
    max_volumes_per_file: int = Field(default=_LIMITS.max_volumes_per_file, gt=0)
    max_volumes_per_operation: int = Field(default=_LIMITS.max_volumes_per_operation, gt=0)
    max_vertices_per_ring: int = Field(default=_LIMITS.max_vertices_per_ring, ge=4)
    max_flight_level: float = Field(
        default=_LIMITS.max_flight_level, ge=0.0, description="higher flight levels in plans are refused"
    )
    min_altitude_m: float = Field(
        default=_LIMITS.min_altitude_m, description="lower altitudes (m or ft) in plans are refused"
    )
    max_altitude_m: float = Field(
        default=_LIMITS.max_altitude_m, gt=0.0, description="higher altitudes (m or ft) in plans are refused"
    )
    # Tactical detection (deconflict.tactical); the domain dataclasses carry the same defaults.
    tactical_rpz_m: float = Field(default=9260.0, gt=0.0, description="horizontal minimum, 5 NM")
    tactical_hpz_m: float = Field(default=304.8, gt=0.0, description="vertical minimum, 1000 ft")
    tactical_lookahead_s: float = Field(default=300.0, gt=0.0)
    tactical_stale_s: float = Field(default=30.0, gt=0.0, description="drop states older than this")
    tactical_min_alt_m: float | None = Field(
        default=None,
        description="altitude floor: leave out aircraft at or below it (default none: ground status "
        "comes from the data's on_ground flag)",
    )
    tactical_min_gs_mps: float = Field(default=0.0, ge=0.0, description="ignore states slower than this")
    tactical_max_alt_m: float = Field(default=16_000.0, gt=0.0, description="higher altitudes are glitches")
    tactical_max_vs_mps: float = Field(
        default=100.0, gt=0.0, description="faster vertical speeds and altitude jumps: glitches"
    )
    tactical_max_gs_mps: float = Field(
        default=1000.0, gt=0.0, description="faster ground speeds are glitches (Mach 3 at altitude)"
    )
    tactical_alt_quantum_m: float = Field(default=7.62, ge=0.0, description="recorded altitude step, 25 ft")
    tactical_alert_gap_s: float = Field(default=10.0, ge=0.0, description="merge alerts across such gaps")
    # Live picture (deconflict.channel.live, /v1/tracks, /v1/alerts, /v1/incidents).
    tracks_max_batch: int = Field(default=10_000, ge=1, description="states per POST /v1/tracks")
    tracks_trail_s: float = Field(default=600.0, ge=0.0, description="trail of own tracks, seconds back")
    tactical_warning_s: float = Field(default=120.0, ge=0.0, description="alert is a warning within this")
    tactical_cycle_s: float = Field(default=1.0, gt=0.0, description="how often live detection runs")
    # Hotline (deconflict.channel.deadlines).
    escalation_ladder_s: tuple[float, ...] = Field(
        default=(0.0, 900.0, 3600.0),
        description="escalation steps, seconds past a message's reply_by (JSON list in the environment)",
    )

    # Events (deconflict.channel.events, WebSocket /v1/events).
    events_max_queued: int = Field(
        default=1000, ge=1, description="events one connection may have waiting; more drop it (too slow)"
    )
    events_max_connections_per_party: int = Field(default=8, ge=1, description="event connections per party")
    session_check_s: float = Field(
        default=1.0,
        gt=0.0,
        description="how often open event connections' tokens are re-checked (revoked or expired: closed)",
    )
    deadline_sweep_s: float = Field(
        default=5.0, gt=0.0, description="how often the server looks for passed deadlines (and pushes them)"
    )

    # Request limits (deconflict.api.limits): 413 and 429 before any route runs.
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, description="largest request body, with or without Content-Length"
    )
    messages_per_minute: int = Field(
        default=120, gt=0, description="messages one party may send in any 60 s (POST /v1/messages)"
    )

    # Connections (deconflict.api.connections, `deconflict serve`).
    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        description="a request's headers must be complete this long after it began; else it is closed",
    )
    max_connections: int = Field(
        default=1000, ge=1, description="connections open at once (HTTP and WebSocket); more get 503"
    )

    # Metrics (deconflict.api.metrics): never on the party port unless the operator token is shown.
    metrics_bind: str | None = Field(
        default=None,
        description="HOST:PORT of the operator address serving GET /metrics (deconflict serve); default none",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="operator token: GET /metrics on the party port answers to it only (404 without it)",
    )

    # Web map (deconflict.ui, served at /).
    ui_dir: Path | None = Field(
        default=None, description="folder of the web map's files; default: the installed package's ui/"
    )

    @field_validator("metrics_bind")
    @classmethod
    def _valid_bind(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bind(value)
        return value

    @field_validator("escalation_ladder_s")
    @classmethod
    def _valid_ladder(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or value[0] < 0.0 or any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"must be non-empty, >= 0 and strictly increasing, got {list(value)}")
        return value

    def buffers(self) -> Buffers:
        """The conflict buffers as a domain object."""
        return Buffers(self.buffer_m, self.vertical_buffer_m, self.time_buffer_s)

    def limits(self) -> Limits:
        """The input limits as a domain object."""
        return Limits(
            max_file_bytes=self.max_file_bytes,
            max_volumes_per_file=self.max_volumes_per_file,
            max_volumes_per_operation=self.max_volumes_per_operation,
            max_vertices_per_ring=self.max_vertices_per_ring,
            max_flight_level=self.max_flight_level,
            min_altitude_m=self.min_altitude_m,
            max_altitude_m=self.max_altitude_m,
        )

    def altitude_margins(self) -> AltitudeMargins:
        """The altitude-reference margins as a domain object."""
        return AltitudeMargins(
            geoid_min_m=self.geoid_min_m,
            geoid_max_m=self.geoid_max_m,
            terrain_min_m=self.terrain_min_m,
            terrain_max_m=self.terrain_max_m,
            qnh_min_hpa=self.qnh_min_hpa,
            qnh_max_hpa=self.qnh_max_hpa,
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
