"""Plain all-pairs reference of the tactical detector, written for clarity, not speed.

It uses the same earth model as the library (chord between WGS 84 surface
points, velocities as ECEF vectors, both projected onto the pair's midpoint
horizontal plane) but shares no code with it, builds full N x N matrices and
finds the windows by solving the quadratic ``|d + w t| = rpz`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deconflict.tactical import DetectionSettings, States

__all__ = ["ReferenceResult", "all_pairs"]

A_M = 6378137.0
E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)


@dataclass(frozen=True)
class ReferenceResult:
    conflicts: dict[tuple[int, int], tuple[float, float, float, float]]
    """(a, b) -> (tcpa_s, dcpa_m, tin_s, tout_s)"""
    los: dict[tuple[int, int], tuple[float, float]]
    """(a, b) -> (dist_m, dalt_m)"""
    margin: dict[tuple[int, int], float]
    """(a, b) -> how far (relatively) the pair is from flipping any criterion."""


def _ecef(states: States) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lat = np.radians(states.lat_deg)
    lon = np.radians(states.lon_deg)
    n = A_M / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    pos = np.stack(
        [n * np.cos(lat) * np.cos(lon), n * np.cos(lat) * np.sin(lon), n * (1 - E2) * np.sin(lat)], 1
    )
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
    east = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], 1)
    north = np.cross(up, east)
    trk = np.radians(states.trk_deg)
    vel = (states.gs_mps * np.sin(trk))[:, None] * east + (states.gs_mps * np.cos(trk))[:, None] * north
    return pos, up, vel


def all_pairs(states: States, settings: DetectionSettings) -> ReferenceResult:
    n = len(states)
    pos, up, vel = _ecef(states)
    rpz, hpz, lookahead = settings.rpz_m, settings.hpz_m, settings.lookahead_s
    mid = up[:, None, :] + up[None, :, :]
    mid /= np.linalg.norm(mid, axis=2, keepdims=True)
    d = pos[None, :, :] - pos[:, None, :]
    w = vel[None, :, :] - vel[:, None, :]
    d = d - np.sum(d * mid, axis=2, keepdims=True) * mid
    w = w - np.sum(w * mid, axis=2, keepdims=True) * mid
    qa = np.sum(w * w, axis=2)
    qb = np.sum(d * w, axis=2)
    qc = np.sum(d * d, axis=2)
    dalt = states.alt_m[None, :] - states.alt_m[:, None]
    dvs = states.vs_mps[None, :] - states.vs_mps[:, None]

    conflicts: dict[tuple[int, int], tuple[float, float, float, float]] = {}
    los: dict[tuple[int, int], tuple[float, float]] = {}
    margin: dict[tuple[int, int], float] = {}
    for a in range(n):
        for b in range(a + 1, n):
            a2, b1, c0 = qa[a, b], qb[a, b], qc[a, b] - rpz * rpz
            flips = [abs(np.sqrt(qc[a, b]) - rpz) / rpz, abs(abs(dalt[a, b]) - hpz) / hpz]
            if a2 < 1e-12:  # no relative horizontal motion
                tcpa, dcpa = 0.0, float(np.sqrt(qc[a, b]))
                h_in, h_out = (-np.inf, np.inf) if c0 < 0 else (np.inf, -np.inf)
            else:
                tcpa = -b1 / a2
                dcpa = float(np.sqrt(max(qc[a, b] - b1 * b1 / a2, 0.0)))
                disc = b1 * b1 - a2 * c0
                flips.append(abs(dcpa - rpz) / rpz)
                if disc > 0 and dcpa < rpz:
                    root = np.sqrt(disc)
                    h_in, h_out = (-b1 - root) / a2, (-b1 + root) / a2
                else:
                    h_in, h_out = np.inf, -np.inf
            if abs(dvs[a, b]) < 1e-9:
                v_in, v_out = (-np.inf, np.inf) if abs(dalt[a, b]) < hpz else (np.inf, -np.inf)
            else:
                t1 = (hpz - dalt[a, b]) / dvs[a, b]
                t2 = (-hpz - dalt[a, b]) / dvs[a, b]
                v_in, v_out = min(t1, t2), max(t1, t2)
            t_in, t_out = max(h_in, v_in), min(h_out, v_out)
            for edge in (t_in - lookahead, t_out, t_out - t_in):
                if np.isfinite(edge):
                    flips.append(abs(edge) / lookahead)
            margin[a, b] = min(flips)
            if t_in < t_out and t_out > 0 and t_in < lookahead:
                conflicts[a, b] = (float(tcpa), dcpa, float(t_in), float(t_out))
            if qc[a, b] < rpz * rpz and abs(dalt[a, b]) < hpz:
                los[a, b] = (float(np.sqrt(qc[a, b])), float(abs(dalt[a, b])))
    return ReferenceResult(conflicts, los, margin)
