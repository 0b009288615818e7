"""Plans a party files through the channel: always its own, checked before filing."""

from __future__ import annotations

from deconflict.config import Limits
from deconflict.errors import InputError, Problem
from deconflict.strategic.geojson import parse_features
from deconflict.strategic.volume import Volume

__all__ = ["plan_volumes"]


def plan_volumes(
    document: object, party: str, source: str = "request", limits: Limits = Limits()
) -> list[Volume]:
    """The volumes of a GeoJSON FeatureCollection that ``party`` files as its own.

    A feature without ``party`` belongs to the filing party; a feature naming
    another party is refused (a party never files for another).

    Raises
    ------
    InputError
        With every problem, each naming the feature and the field.
    """
    volumes = parse_features(document, source, party, limits)
    problems = [
        Problem(
            source,
            f"names party {v.party!r}, but the plan is filed by {party!r}: a party files only its own plans",
            f"feature {index} (id {v.id})",
            "party",
        )
        for index, v in enumerate(volumes)
        if v.party != party
    ]
    if problems:
        raise InputError(problems)
    return volumes
