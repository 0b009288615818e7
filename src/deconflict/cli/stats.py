"""``deconflict stats``: the party's channel statistics by month and pair, from a server."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import add_common_arguments, client_from_args
from deconflict.cli.output import console

if TYPE_CHECKING:
    from rich.table import Table

    from deconflict.client import Transport

__all__ = ["add_stats_parser", "run_stats", "stats_table"]

_COLUMNS = (
    ("month", "left"),
    ("parties", "left"),
    ("messages", "right"),
    ("ack median s", "right"),
    ("ack p95 s", "right"),
    ("overdue", "right"),
    ("conflicts open", "right"),
    ("ack'd", "right"),
    ("accepted", "right"),
    ("resolved", "right"),
    ("alerts", "right"),
    ("incidents", "right"),
)


def add_stats_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``stats`` to the ``deconflict`` parser."""
    stats = sub.add_parser(
        "stats",
        help="the party's channel statistics by month and party pair (response times, overdue, incidents)",
        description=(
            "Per UTC month and per pair of parties that includes yours: messages, median and 95th percentile "
            "time to acknowledge, overdue messages, conflicts by state, alerts and incidents; per month, "
            "the non-conformance alerts of your own aircraft."
        ),
    )
    add_common_arguments(stats)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def stats_table(document: dict[str, Any]) -> Table:
    """A table of ``GET /v1/stats``: one row per month and pair."""
    from rich.table import Table

    table = Table(title=f"Channel statistics of {document['party']}", title_justify="left")
    for name, justify in _COLUMNS:
        table.add_column(name, justify="right" if justify == "right" else "left")
    for month in document["months"]:
        for index, pair in enumerate(month["pairs"]):
            conflicts = pair["conflicts"]
            table.add_row(
                month["month"] if index == 0 else "",
                " - ".join(pair["parties"]),
                str(pair["messages"]),
                _seconds(pair["ack_median_s"]),
                _seconds(pair["ack_p95_s"]),
                str(pair["overdue"]),
                str(conflicts["open"]),
                str(conflicts["acknowledged"]),
                str(conflicts["accepted"]),
                str(conflicts["resolved"]),
                str(pair["alerts"]),
                str(pair["incidents"]),
                end_section=index == len(month["pairs"]) - 1,
            )
    return table


def run_stats(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict stats``; errors propagate to :func:`deconflict.cli.main`."""
    document = client_from_args(args, transport).stats()
    if args.json:
        print(json.dumps(document, indent=2))
    elif document["months"]:
        console().print(stats_table(document))
        strays = [
            f"{m['month']}: {m['non_conformance']}" for m in document["months"] if m.get("non_conformance")
        ]
        if strays:
            console().print(f"non-conformance alerts of own aircraft (off plan): {', '.join(strays)}")
    else:
        console().print(f"no channel activity of {document['party']} yet")
    return 0
