"""``deconflict conflicts list|ack|accept``: the party's conflicts and their lifecycle, through a server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import add_common_arguments, client_from_args, conflicts_table
from deconflict.cli.output import console

if TYPE_CHECKING:
    from deconflict.client import Transport

__all__ = ["add_conflicts_parser", "run_conflicts"]


def add_conflicts_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``conflicts`` and its actions to the ``deconflict`` parser."""
    conflicts = sub.add_parser(
        "conflicts",
        help="list, acknowledge and accept the party's conflicts on a channel server",
        description="Both sides of a conflict see its lifecycle: acknowledgements, acceptances, resolution.",
    )
    actions = conflicts.add_subparsers(dest="conflicts_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list conflicts (all but resolved ones by default)")
    add_common_arguments(listing)
    listing.add_argument("--state", choices=("open", "acknowledged", "accepted", "resolved"))
    listing.add_argument("--operation", metavar="OP", help="only conflicts of this operation of yours")
    listing.add_argument(
        "--kml",
        metavar="OUT",
        help="write the listed conflicts as KML (3-D overlap volumes for Google Earth) to OUT ('-': stdout)",
    )
    ack = actions.add_parser("ack", help="acknowledge a conflict")
    add_common_arguments(ack)
    ack.add_argument("id", type=int, metavar="ID", help="the conflict id")
    accept = actions.add_parser("accept", help="accept a conflict as it is (the other side sees the reason)")
    add_common_arguments(accept)
    accept.add_argument("id", type=int, metavar="ID", help="the conflict id")
    accept.add_argument("--reason", required=True, help="why the conflict is acceptable as it is")


def run_conflicts(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict conflicts ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    client = client_from_args(args, transport)
    document: Any
    if args.conflicts_command == "list" and args.kml is not None:
        text = client.conflicts_kml(args.state, args.operation)
        if args.kml == "-":
            sys.stdout.write(text)
        else:
            Path(args.kml).write_text(text, encoding="utf-8")
            console().print(f"wrote {args.kml}")
        return 0
    if args.conflicts_command == "list":
        document = client.conflicts(args.state, args.operation)
    elif args.conflicts_command == "ack":
        document = [client.ack_conflict(args.id)]
    else:
        document = [client.accept_conflict(args.id, args.reason)]
    if args.json:
        print(json.dumps(document if args.conflicts_command == "list" else document[0], indent=2))
    elif document:
        console().print(conflicts_table(document))
    else:
        console().print("no conflicts")
    return 0
