"""Settings: every default in one place, read from the environment only when asked.

One module though over 600 lines: most of it is :class:`Settings`' fields, each with its
default and description; loading, checking and listing them belong beside them.

Nothing is read at import time: :func:`load_settings` builds a :class:`Settings`
from ``DECONFLICT_*`` environment variables (over an optional TOML file named
by ``DECONFLICT_CONFIG``) when a program starts, and the domain receives the
plain frozen dataclasses it needs, each defined beside the code that uses it
(:class:`~deconflict.strategic.buffers.Buffers`, :class:`~deconflict.strategic.limits.Limits`,
:class:`~deconflict.channel.probes.ProbeRules`, :class:`~deconflict.channel.gating.GatingSettings`,
:class:`~deconflict.units.AltitudeMargins`). A bad value is an
:class:`~deconflict.errors.InputError` naming the variable (or the file and
key), the value and what is expected.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from deconflict.errors import InputError, Problem
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.limits import Limits
from deconflict.units import AltitudeMargins

if TYPE_CHECKING:
    from deconflict.channel.gating import GatingSettings
    from deconflict.channel.live.settings import ConformanceSettings
    from deconflict.channel.probes import ProbeRules

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_PREFIX",
    "NOT_SETTINGS",
    "SettingInfo",
    "Settings",
    "check_nats_url",
    "is_database_url",
    "load_settings",
    "parse_bind",
    "read_config_file",
    "setting_infos",
    "settings_markdown",
    "unknown_variables",
]

ENV_PREFIX = "DECONFLICT_"
"""Every setting ``name`` is read from the environment variable ``DECONFLICT_<NAME>``."""

CONFIG_FILE_ENV = "DECONFLICT_CONFIG"
"""The environment variable naming a TOML file of settings (``deconflict --config FILE`` sets it)."""

NOT_SETTINGS: dict[str, str] = {
    CONFIG_FILE_ENV: "a TOML file of settings, under the environment (as `--config FILE`)",
    "DECONFLICT_URL": "the server of the client commands, when `--url` is not given",
    "DECONFLICT_TOKEN": "the party's bearer token of the client commands, when `--token` is not given",
    "DECONFLICT_CLOCK_FILE": '`serve` reads "now" from this file: tests and demos only',
    "DECONFLICT_REQUIRE_BROWSER": "tests: the browser test fails, never skips, without Chromium",
    "DECONFLICT_REQUIRE_PROXY": "tests: the nginx test fails, never skips, without nginx",
    "DECONFLICT_REQUIRE_POSTGRES": "tests: PostgreSQL tests fail, never skip, without PostgreSQL or PostGIS",
    "DECONFLICT_REQUIRE_NATS": "tests: tests of NATS JetStream fail, never skip, without nats-server",
    "DECONFLICT_ARTIFACTS": "tests: where the browser test saves its screenshots",
    "DECONFLICT_CRASH_ROUNDS": "tests: how many times the crash test kills the server",
    "DECONFLICT_BENCH_WRAP": "benchmarks: a command that wraps the server (a profiler)",
}
"""``DECONFLICT_*`` variables that are not settings, each with what reads it; others are warned about."""


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database (``postgresql://`` or ``postgres://``), not a file.

    >>> is_database_url("postgresql://app@db:5432/channel"), is_database_url("deconflict.db")
    (True, False)
    """
    return text.startswith(("postgresql://", "postgres://"))


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
# ProbeRules' defaults (deconflict.channel.probes), written out so that this module loads without the
# channel package; tests/test_config.py checks that they agree.
_PROBES_WINDOW_S = 600.0
_PROBES_BURST_FILINGS = 10
_SWEEP_AIRCRAFT = 5  # GatingSettings.sweep_aircraft, likewise


def check_nats_url(value: str) -> str:
    """``value`` if it is a comma-separated list of ``nats://`` (or ``tls://``) server URLs.

    Raises
    ------
    ValueError
        Saying what is expected.
    """
    urls = [u.strip() for u in value.split(",")]
    if not all(u.startswith(("nats://", "tls://")) and len(u) > len("nats://") for u in urls):
        raise ValueError(f"{value!r}: expected nats://host:port URLs separated by commas")
    return value


class Settings(BaseSettings):
    """Process-wide settings, from ``DECONFLICT_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DECONFLICT_", extra="forbid")

    db_path: Path = Field(default=Path("deconflict.db"), description="SQLite database file")
    db_url: SecretStr | None = Field(
        default=None,
        description=(
            "a PostgreSQL 15 database with PostGIS 3 instead of the SQLite file "
            "(postgresql://user[:password]@host[:port]/name; `serve --db URL` sets it); every node "
            "of a cluster uses the same"
        ),
    )
    audit_key_path: Path | None = Field(
        default=None,
        description=(
            "the server's private audit key file with db_url (created on first use; every node of a "
            "cluster needs a copy); the SQLite file keeps its own beside it"
        ),
    )
    db_pool_size: int = Field(
        default=8, ge=1, description="with db_url: the most connections to the database each node opens"
    )
    db_pool_timeout_s: float = Field(
        default=5.0,
        gt=0.0,
        le=60.0,
        description=(
            "with db_url: how long a request waits for a database connection (and a new connection "
            "for the server) before it is answered 503 with Retry-After"
        ),
    )
    nats_url: str | None = Field(
        default=None,
        description=(
            "with db_url: the NATS JetStream servers events cross nodes through, comma-separated "
            "(nats://host:4222,nats://host2:4222,...; give every server; `serve --nats URLS` sets it); "
            "without it each node pushes only the events it committed"
        ),
    )
    nats_stream_replicas: int = Field(
        default=3,
        ge=1,
        le=5,
        description=(
            "with nats_url: replicas of the events stream (3 on a 3-server cluster: an event survives "
            "the loss of one server, and the stream takes writes while 2 of 3 are up)"
        ),
    )
    # A cluster (deconflict.channel.cluster): nodes sharing db_url; nothing to set on SQLite.
    node_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="with db_url: this node's name in the cluster, in its logs and the lease's holder "
        "(default host:pid); unique per node",
    )
    lease_ttl_s: float = Field(
        default=5.0,
        gt=0.0,
        le=300.0,
        description=(
            "with db_url: how long the scheduler's lease (deadlines, detection) outlives its holder's last "
            "renewal: another node takes over within about this after the holder dies"
        ),
    )
    lease_renew_s: float = Field(
        default=1.0,
        gt=0.0,
        le=60.0,
        description="with db_url: how often a node renews (or tries to take) the scheduler's lease; "
        "well under lease_ttl_s",
    )
    # Strategic conflicts (deconflict.strategic): buffers grow every volume on every side.
    buffer_m: float = Field(default=0.0, ge=0.0, description="grow every footprint by this (server filings)")
    vertical_buffer_m: float = Field(default=0.0, ge=0.0, description="grow every altitude band up and down")
    time_buffer_s: float = Field(default=0.0, ge=0.0, description="grow every time window at both ends")
    # Altitude references (deconflict.units.AltitudeMargins): narrow them for a known region.
    geoid_min_m: float = Field(default=_MARGINS.geoid_min_m, description="lowest geoid undulation (W84)")
    geoid_max_m: float = Field(default=_MARGINS.geoid_max_m, description="highest geoid undulation (W84)")
    terrain_min_m: float = Field(default=_MARGINS.terrain_min_m, description="lowest terrain, MSL (AGL)")
    terrain_max_m: float = Field(default=_MARGINS.terrain_max_m, description="highest terrain, MSL (AGL)")
    qnh_min_hpa: float = Field(default=_MARGINS.qnh_min_hpa, description="lowest sea-level pressure (FL)")
    qnh_max_hpa: float = Field(default=_MARGINS.qnh_max_hpa, description="highest sea-level pressure (FL)")
    # Input limits (deconflict.strategic.geojson, filing).
    max_file_bytes: int = Field(default=_LIMITS.max_file_bytes, gt=0, description="largest volume file")
    max_volumes_per_file: int = Field(
        default=_LIMITS.max_volumes_per_file, gt=0, description="most features in one volume file"
    )
    max_volumes_per_operation: int = Field(
        default=_LIMITS.max_volumes_per_operation, gt=0, description="most volumes in one operation"
    )
    max_vertices_per_ring: int = Field(
        default=_LIMITS.max_vertices_per_ring, ge=4, description="most positions in one polygon ring"
    )
    max_flight_level: float = Field(
        default=_LIMITS.max_flight_level, ge=0.0, description="higher flight levels in plans are refused"
    )
    min_altitude_m: float = Field(
        default=_LIMITS.min_altitude_m, description="lower altitudes (m or ft) in plans are refused"
    )
    max_altitude_m: float = Field(
        default=_LIMITS.max_altitude_m, gt=0.0, description="higher altitudes (m or ft) in plans are refused"
    )
    # Filing limits (deconflict.channel.plans, deconflict.api.limits): what one operation may
    # cover and how often a party may file. A filing's conflicts tell the filer where, when
    # and how high other parties fly inside its own volumes: these bound how much one
    # filing, and one minute of filings, can reveal.
    max_operation_area_km2: float = Field(
        default=_LIMITS.max_operation_area_m2 / 1e6,
        gt=0.0,
        description=(
            "largest footprint of one operation (the union of its volumes), km^2; 50,000 km^2 (a square "
            "of 224 km) holds the largest exercise and reserved areas (TRA/TSA complexes are 10^3 to "
            "10^4 km^2); a larger activity is filed as several operations"
        ),
    )
    max_operation_window_h: float = Field(
        default=_LIMITS.max_operation_window_s / 3600.0,
        gt=0.0,
        description=(
            "longest time span of one operation (earliest start to latest end), hours; 72 h holds a "
            "multi-day exercise block or a long-endurance UAS mission; longer activity is filed in parts"
        ),
    )
    max_operation_band_m: float = Field(
        default=_LIMITS.max_operation_band_m,
        gt=0.0,
        description=(
            "highest altitude span of one operation (lowest lower bound to highest upper bound, as "
            "stated), metres; 21,000 m holds the surface to FL660 (20,117 m), the top of controlled "
            "airspace"
        ),
    )
    filings_per_minute: int = Field(
        default=60,
        gt=0,
        description=(
            "filings and amendments one party may make in any 60 s (POST, PUT /v1/operations); an "
            "operations centre files a few an hour, a drone-service provider one per flight: 60 a "
            "minute is far above either"
        ),
    )
    withdrawals_per_minute: int = Field(
        default=30,
        gt=0,
        description=(
            "withdrawals one party may make in any 60 s (POST /v1/operations/{id}/withdraw); honest "
            "withdrawals are rarer than filings, and file-and-withdraw is how a party probes the others"
        ),
    )
    probe_window_s: float = Field(
        default=_PROBES_WINDOW_S,
        gt=0.0,
        description=(
            "an operation withdrawn less than this after its filing revealed conflicts raises a probe "
            "alarm to the other side of each (10 min: longer than a quick correction, shorter than "
            "any plan that was meant); also the window of probe_burst_filings and probe_sweep_aircraft"
        ),
    )
    probe_burst_filings: int = Field(
        default=_PROBES_BURST_FILINGS,
        ge=2,
        description=(
            "filings of one party that revealed conflicts with another party's plans within "
            "probe_window_s that raise a probe alarm to that party, withdrawn or not"
        ),
    )
    probe_sweep_aircraft: int = Field(
        default=_SWEEP_AIRCRAFT,
        ge=2,
        description=(
            "aircraft of one party that do not vouch (on probation, outside its plans, or refused as "
            "implausible) in alerts with another party's aircraft within probe_window_s that raise a "
            "probe alarm (sweep) to that party (the demo's genuine traffic reaches 2 per pair of parties, "
            "a sweep of 560 invented aircraft 10 at once)"
        ),
    )
    # Tactical detection (deconflict.tactical); the domain dataclasses carry the same defaults.
    tactical_rpz_m: float = Field(default=9260.0, gt=0.0, description="horizontal minimum, 5 NM")
    tactical_hpz_m: float = Field(default=304.8, gt=0.0, description="vertical minimum, 1000 ft")
    tactical_lookahead_s: float = Field(default=300.0, gt=0.0, description="how far ahead conflicts count")
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
    # Live picture gates (deconflict.channel.gating): what one party's aircraft may make the channel
    # disclose about others; the domain dataclass carries the same defaults and says why.
    tracks_max_aircraft_per_party: int = Field(
        default=5000, ge=1, description="aircraft one party may hold at once"
    )
    tracks_max_gs_mps: float = Field(
        default=700.0, ge=0.0, description="faster ground speeds refused by POST /v1/tracks"
    )
    tracks_max_climb_mps: float = Field(
        default=150.0, ge=0.0, description="faster vertical speeds refused by POST /v1/tracks"
    )
    tracks_max_accel_mps2: float = Field(
        default=20.0, ge=0.0, description="faster changes of ground speed are refused"
    )
    tracks_max_lateral_accel_mps2: float = Field(
        default=90.0, ge=0.0, description="tighter turns (gs x turn rate) refused"
    )
    tracks_position_tolerance_m: float = Field(
        default=500.0, ge=0.0, description="position noise beyond what speed allows"
    )
    tracks_probation_s: float = Field(
        default=30.0,
        ge=0.0,
        description="plausible flight before an aircraft may show its party others' aircraft",
    )
    tracks_plan_margin_m: float = Field(
        default=55_560.0,
        ge=0.0,
        description="farther from its party's live plans, an aircraft shows it nothing of others",
    )
    tracks_disclose_anywhere: tuple[str, ...] = Field(
        default=(), description="parties whose aircraft may show others anywhere (no plan margin)"
    )
    # Conformance monitoring (deconflict.channel.live.conformance).
    conformance_margin_m: float = Field(
        default=1852.0,
        ge=0.0,
        description="own aircraft farther outside all its party's active plans is non-conforming, 1 NM",
    )
    conformance_margin_ft: float = Field(
        default=500.0, ge=0.0, description="likewise above or below the plans' altitude bands, feet"
    )
    # Hotline (deconflict.channel.deadlines).
    escalation_ladder_s: tuple[float, ...] = Field(
        default=(0.0, 900.0, 3600.0),
        description="escalation steps, seconds past a message's reply_by (JSON list in the environment)",
    )

    # Events (deconflict.channel.events, WebSocket /v1/events).
    events_max_queued: int = Field(
        default=1000,
        ge=1,
        description="events one connection may have waiting (a cycle's alerts or incidents count as one); "
        "more drop it (too slow)",
    )
    events_max_connections_per_party: int = Field(default=8, ge=1, description="event connections per party")
    events_keep_s: float = Field(
        default=7 * 24 * 3600.0,
        ge=60.0,
        description=(
            "how long the outbox (and the events stream) keeps an event, for clients resuming from "
            "their last event id; older ones are pruned hourly (7 days)"
        ),
    )
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
    blind_sessions_per_hour: int = Field(
        default=4,
        gt=0,
        description=(
            "blind sessions one pair of parties may start in any hour (POST /v1/blind/sessions, either "
            "party starting): each lets a party learn where the other flies inside its own cover, so "
            "this bounds how much a prober with huge covers learns"
        ),
    )
    blind_session_ttl_s: float = Field(
        default=6 * 3600.0,
        gt=0.0,
        description=(
            "a blind session's messages are deleted this long after it started, if neither party "
            "ended it before (a 10k-volume session takes about half an hour)"
        ),
    )
    messages_per_minute: int = Field(
        default=120, gt=0, description="messages one party may send in any 60 s (POST /v1/messages)"
    )
    # Failed logins (deconflict.channel.logins): aggregated in the audit log, limited per source.
    login_failure_interval_s: float = Field(
        default=60.0,
        gt=0.0,
        description="failed logins of one source and reason within this are one audit entry with a count",
    )
    login_failures_per_minute: int = Field(
        default=30, gt=0, description="failed logins of one source in any 60 s before it gets 429"
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
    map_overlays: tuple[Path, ...] = Field(
        default=(),
        description=(
            "GeoJSON files of the web map's overlays every party sees (deconfliction lines, airways, "
            "restricted areas, FIR boundaries; each feature with properties name and kind), read and "
            "checked at start: a bad file stops the server (`serve --overlay FILE` sets it)"
        ),
    )

    @field_validator("metrics_bind")
    @classmethod
    def _valid_bind(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bind(value)
        return value

    @field_validator("db_url")
    @classmethod
    def _valid_db_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_database_url(value.get_secret_value()):
            raise ValueError("expected a URL postgresql://user@host:port/name")
        return value

    @field_validator("nats_url")
    @classmethod
    def _valid_nats_url(cls, value: str | None) -> str | None:
        return None if value is None else check_nats_url(value)

    @model_validator(mode="after")
    def _renewed_within_ttl(self) -> Self:
        if self.lease_renew_s * 2 > self.lease_ttl_s:
            raise ValueError(
                f"lease_renew_s ({self.lease_renew_s:g}) must be at most half of lease_ttl_s "
                f"({self.lease_ttl_s:g}): one late renewal must not lose the lease"
            )
        return self

    @field_validator("escalation_ladder_s")
    @classmethod
    def _valid_ladder(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or value[0] < 0.0 or any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"must be non-empty, >= 0 and strictly increasing, got {list(value)}")
        return value

    def buffers(self) -> Buffers:
        """The conflict buffers as a domain object."""
        return Buffers(self.buffer_m, self.vertical_buffer_m, self.time_buffer_s)

    def gating(self) -> GatingSettings:
        """The live picture's gates as a domain object."""
        # Imported when built: importing the channel package here would load it with every Settings.
        from deconflict.channel.gating import GatingSettings

        return GatingSettings(
            max_aircraft_per_party=self.tracks_max_aircraft_per_party,
            max_gs_mps=self.tracks_max_gs_mps,
            max_climb_mps=self.tracks_max_climb_mps,
            max_accel_mps2=self.tracks_max_accel_mps2,
            max_lateral_accel_mps2=self.tracks_max_lateral_accel_mps2,
            position_tolerance_m=self.tracks_position_tolerance_m,
            probation_s=self.tracks_probation_s,
            plan_margin_m=self.tracks_plan_margin_m,
            disclose_anywhere=frozenset(self.tracks_disclose_anywhere),
            sweep_aircraft=self.probe_sweep_aircraft,
            sweep_window_s=self.probe_window_s,
        )

    def conformance(self) -> ConformanceSettings:
        """The margins of conformance monitoring as a domain object."""
        from deconflict.channel.live.settings import ConformanceSettings  # as gating(): when built
        from deconflict.units import FT_TO_M

        return ConformanceSettings(
            margin_m=self.conformance_margin_m,
            vertical_margin_m=self.conformance_margin_ft * FT_TO_M,
            other_buffers=self.buffers(),
            altitude_margins=self.altitude_margins(),
        )

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
            max_operation_area_m2=self.max_operation_area_km2 * 1e6,
            max_operation_window_s=self.max_operation_window_h * 3600.0,
            max_operation_band_m=self.max_operation_band_m,
        )

    def probe_rules(self) -> ProbeRules:
        """When filings raise probe alarms, as a domain object."""
        from deconflict.channel.probes import ProbeRules  # as gating(): when built

        return ProbeRules(self.probe_window_s, self.probe_burst_filings)

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


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _environment() -> dict[str, str]:
    # pydantic-settings matches names without regard to case; so do we.
    return {key.upper(): value for key, value in os.environ.items()}


def read_config_file(path: Path | str) -> dict[str, Any]:
    """The settings of a TOML file: top-level ``name = value`` pairs, names as in :class:`Settings`.

    Raises
    ------
    InputError
        If the file cannot be read or is not TOML, or for every key that is not a setting.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise InputError([Problem(source, f"cannot read the settings file: {exc.strerror or exc}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(source, f"not valid TOML: {exc}")]) from exc
    names = list(Settings.model_fields)
    problems = []
    for key in document:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(key.lower(), names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else " (`deconflict settings` lists them)"
            problems.append(Problem(source, f"not a setting{hint}", None, key))
    if problems:
        raise InputError(problems)
    return document


def _expected(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _problem(name: str, value: object, expected: str, file: str | None, env: Mapping[str, str]) -> Problem:
    field = Settings.model_fields.get(name)
    if field is not None and isinstance(field.default, tuple):
        expected += f" (a JSON list, e.g. {json.dumps(list(field.default))})"
    secret = field is not None and "SecretStr" in str(field.annotation)
    described = f"{'(hidden)' if secret else repr(value)} is not valid: {expected}"
    if _env_name(name) in env:
        return Problem("environment", described, None, _env_name(name))
    if file is not None:
        return Problem(file, described, None, name)
    return Problem("settings", described, None, name)


def load_settings(config_file: Path | str | None = None, **overrides: object) -> Settings:
    """Settings from the environment over a TOML file, with explicit overrides taking precedence.

    Parameters
    ----------
    config_file
        A TOML file of settings (see :func:`read_config_file`); by default the one
        ``DECONFLICT_CONFIG`` names, if any. Environment variables override it.
    overrides
        Settings by name, over everything else.

    Raises
    ------
    InputError
        One problem per bad value, naming the variable (or file and key), the value and
        what is expected.
    """
    env = _environment()
    path = config_file if config_file is not None else env.get(CONFIG_FILE_ENV) or None
    in_file = read_config_file(path) if path is not None else {}
    values = {k: v for k, v in in_file.items() if _env_name(k) not in env} | overrides
    file = str(path) if path is not None else None
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            value = env.get(_env_name(name), error.get("input"))
            problems.append(_problem(name, value, _expected(error["msg"]), file, env))
        raise InputError(problems) from exc
    except _SourceError as exc:  # a list or object setting whose variable is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = found.group(1) if found else "?"
        raise InputError([_problem(name, env.get(_env_name(name)), "not JSON", file, env)]) from exc


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``DECONFLICT_*`` variable that is neither a setting nor in :data:`NOT_SETTINGS`."""
    known = {_env_name(n) for n in Settings.model_fields} | set(NOT_SETTINGS)
    lines = []
    for key in sorted(environ):
        name = key.upper()
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        lines.append(f"{key} is not a setting and is ignored ({hint}`deconflict settings` lists them)")
    return lines


@dataclass(frozen=True)
class SettingInfo:
    """One setting as documented: name, environment variable, type, default and description."""

    name: str
    env: str
    type: str
    default: str
    description: str


_TYPE_NAMES: dict[Any, str] = {
    float: "number",
    int: "integer",
    bool: "true/false",
    str: "text",
    SecretStr: "secret text",
    Path: "path",
}


def _type_name(annotation: Any) -> str:
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    if annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation]
    if getattr(annotation, "__origin__", None) is tuple:
        return f"list of {_TYPE_NAMES[args[0]]}s (JSON)"
    if len(args) == 1 and args[0] in _TYPE_NAMES:  # X | None
        return f"{_TYPE_NAMES[args[0]]}, optional"
    return str(annotation).replace("|", "or")


def setting_infos() -> list[SettingInfo]:
    """Every setting, in the order of :class:`Settings`."""
    infos = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, tuple):
            default = json.dumps(list(default))
        shown = "(none)" if default is None else str(default)
        infos.append(
            SettingInfo(name, _env_name(name), _type_name(field.annotation), shown, field.description or "")
        )
    return infos


def settings_markdown() -> str:
    """The README's table of settings, generated from :class:`Settings`."""
    lines = ["| variable | TOML key | type | default | meaning |", "|---|---|---|---:|---|"]
    for info in setting_infos():
        cells = (f"`{info.env}`", f"`{info.name}`", info.type, f"`{info.default}`", info.description)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
