"""Blind deconfliction: which volumes of two parties conflict, without either showing its plan.

:mod:`.grid` the public parameters of a session; :mod:`.cover` the cells that cover a
party's buffered volumes; :mod:`.psi` private set intersection over ristretto255;
:mod:`.protocol` one party's signed, sealed side of a session.
"""

from deconflict.blind.cover import Cover, cover_volumes
from deconflict.blind.grid import GridParameters, cell_size_deg_for
from deconflict.blind.protocol import BlindParty, BlindResult, Envelope, Phase

__all__ = [
    "BlindParty",
    "BlindResult",
    "Cover",
    "Envelope",
    "GridParameters",
    "Phase",
    "cell_size_deg_for",
    "cover_volumes",
]
