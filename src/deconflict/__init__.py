"""deconflict: a deconfliction channel for parties that share an airspace.

The library is usable without the CLI::

    from deconflict import read_volumes, find_conflicts
    conflicts = find_conflicts(read_volumes("blue.geojson") + read_volumes("red.geojson"))
"""

from deconflict.config import Settings, load_settings
from deconflict.errors import DeconflictError, InputError, NotFoundError, Problem, StaleVersionError
from deconflict.strategic import (
    Buffers,
    Conflict,
    FilingResult,
    Limits,
    Operation,
    OperationState,
    Volume,
    file_operation,
    find_conflicts,
    parse_features,
    read_volumes,
    withdraw_operation,
)

__version__ = "0.1.0"

__all__ = [
    "Buffers",
    "Conflict",
    "DeconflictError",
    "FilingResult",
    "InputError",
    "Limits",
    "NotFoundError",
    "Operation",
    "OperationState",
    "Problem",
    "Settings",
    "StaleVersionError",
    "Volume",
    "__version__",
    "file_operation",
    "find_conflicts",
    "load_settings",
    "parse_features",
    "read_volumes",
    "withdraw_operation",
]
