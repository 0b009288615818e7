"""Run BlueSky's state-based detector (C++ or NumPy) on saved states; print one JSON line.

Runs only in the separate benchmark environment (``.venv-bench``, ``pip install
bluesky-simulator``), as its own process: deconflict never imports BlueSky.

    .venv-bench/bin/python benchmarks/bluesky_statebased.py STATES.npz cpp|numpy
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from types import SimpleNamespace

import numpy as np


def main(path: str, impl: str) -> None:
    # BlueSky prints its plugin and model loading on import; keep stdout for our JSON.
    with contextlib.redirect_stdout(io.StringIO()):
        from bluesky.traffic.asas import cstatebased
        from bluesky.traffic.asas.statebased import StateBased

    data = np.load(path)
    n = int(data["lat_deg"].size)
    traffic = SimpleNamespace(
        lat=data["lat_deg"],
        lon=data["lon_deg"],
        trk=data["trk_deg"],
        gs=data["gs_mps"],
        alt=data["alt_m"],
        vs=data["vs_mps"],
        id=[str(k) for k in range(n)],
        ntraf=n,
    )
    rpz = np.full(n, float(data["rpz_m"]))
    hpz = np.full(n, float(data["hpz_m"]))
    lookahead = np.full(n, float(data["lookahead_s"]))
    started = time.perf_counter()
    if impl == "cpp":
        result = cstatebased.detect(traffic, traffic, rpz, hpz, lookahead)
    else:
        result = StateBased.detect(None, traffic, traffic, rpz, hpz, lookahead)
    seconds = time.perf_counter() - started
    conflicts = sorted({tuple(sorted((int(a), int(b)))) for a, b in result[0]})
    los = sorted({tuple(sorted((int(a), int(b)))) for a, b in result[1]})
    sys.stdout.write(
        json.dumps({"impl": impl, "seconds": seconds, "conflicts": conflicts, "los": los}) + "\n"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
