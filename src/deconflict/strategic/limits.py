"""Sanity limits on planned volumes and operations, each refused with a clear message."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


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
    # One operation filed through the channel (deconflict.channel.plans): its footprint
    # (the union of its volumes'), its time span and its altitude span.
    max_operation_area_m2: float = 50_000.0e6
    max_operation_window_s: float = 72.0 * 3600.0
    max_operation_band_m: float = 21_000.0
