"""How the report writes times, durations, aircraft and places, in its figures and on its page."""

from __future__ import annotations

from datetime import UTC, datetime

from deconflict.tactical.replay import Incident

__all__ = ["aircraft_name", "duration_text", "latlon_text", "pair_label", "utc_clock", "utc_time"]


def utc_time(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_clock(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%H:%M:%S")


def duration_text(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def aircraft_name(aircraft_id: str, callsign: str) -> str:
    """``CALLSIGN (id)``, or just the id when there is no callsign."""
    return f"{callsign} ({aircraft_id})" if callsign.strip() else aircraft_id


def pair_label(incident: Incident) -> str:
    return f"{incident.callsign_a or incident.a} / {incident.callsign_b or incident.b}"


def latlon_text(lat_deg: float, lon_deg: float) -> str:
    """``48.9920° N, 3.0507° E``."""
    north = "N" if lat_deg >= 0.0 else "S"
    east = "E" if lon_deg >= 0.0 else "W"
    return f"{abs(lat_deg):.4f}° {north}, {abs(lon_deg):.4f}° {east}"
