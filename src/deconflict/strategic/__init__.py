"""Strategic deconfliction: planned 4-D volumes, their conflicts, filing against a store."""

from deconflict.strategic.buffers import Buffers
from deconflict.strategic.conflicts import Conflict, evaluate_pairs, find_conflicts
from deconflict.strategic.filing import FilingResult, file_operation, withdraw_operation
from deconflict.strategic.geojson import parse_features, read_volumes
from deconflict.strategic.limits import Limits
from deconflict.strategic.store import ConflictRecord, Store, StoreTransaction
from deconflict.strategic.volume import Operation, OperationState, SearchBox, Volume

__all__ = [
    "Buffers",
    "Conflict",
    "ConflictRecord",
    "FilingResult",
    "Limits",
    "Operation",
    "OperationState",
    "SearchBox",
    "Store",
    "StoreTransaction",
    "Volume",
    "evaluate_pairs",
    "file_operation",
    "find_conflicts",
    "parse_features",
    "read_volumes",
    "withdraw_operation",
]
