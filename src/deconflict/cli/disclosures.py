"""``deconflict disclosures list``: what the channel told other parties about the caller, through a server."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from deconflict.cli import arguments
from deconflict.cli.ops import add_common_arguments, client_from_args
from deconflict.cli.output import console

if TYPE_CHECKING:
    from rich.table import Table

    from deconflict.client import Transport

__all__ = ["add_disclosures_parser", "disclosures_table", "run_disclosures"]


def add_disclosures_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``disclosures`` and its action to the ``deconflict`` parser."""
    disclosures = sub.add_parser(
        "disclosures",
        help="the party's disclosure ledger on a channel server: what other parties were told about it",
        description=(
            "Every fact the channel gave another party about yours (who, when, which operation, which "
            "facts, why), and probe alarms."
        ),
    )
    actions = disclosures.add_subparsers(dest="disclosures_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the ledger, oldest first (the newest page by default)")
    add_common_arguments(listing)
    listing.add_argument(
        "--limit", type=arguments.whole_number, metavar="N", help="the newest N entries at most"
    )
    listing.add_argument(
        "--before", type=arguments.whole_number, metavar="NUMBER", help="only entries numbered below NUMBER"
    )


def disclosures_table(entries: list[dict[str, Any]]) -> Table:
    """A table of ledger entries: number, time, kind, recipient, own operation, facts, why."""
    from rich.table import Table

    table = Table(title="disclosures")
    for column in ("#", "time", "kind", "to", "about", "facts", "why"):
        table.add_column(column, justify="right" if column == "#" else "left")
    for e in entries:
        kind = e["kind"] if not e.get("note") else f"{e['kind']} ({e['note']})"
        table.add_row(
            str(e["number"]),
            e["time"],
            kind,
            e["recipient"],
            e["subject_ref"],
            ", ".join(e["fields"]),
            e["reason"],
        )
    return table


def run_disclosures(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict disclosures list``; errors propagate to :func:`deconflict.cli.main`."""
    client = client_from_args(args, transport)
    entries = client.disclosures(args.limit, args.before)
    if args.json:
        print(json.dumps(entries, indent=2))
    elif entries:
        console().print(disclosures_table(entries))
    else:
        console().print("no disclosures")
    return 0
