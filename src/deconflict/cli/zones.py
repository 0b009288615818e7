"""``deconflict zones publish|list|withdraw``: geographical zones on a channel server.

The party that publishes zones is their authority: a filing that enters one of
their applicable restrictions is a conflict with it. Zones are public: every
party lists them all.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import (
    Actions,
    add_action,
    add_actions,
    client_from_args,
    print_json,
    print_listing,
    problems_located_in,
)
from deconflict.cli.output import console

if TYPE_CHECKING:
    from rich.table import Table

    from deconflict.client import Transport

__all__ = ["add_zones_parser", "run_zones"]


def add_zones_parser(sub: Actions) -> None:
    """Add ``zones`` and its actions to the ``deconflict`` parser."""
    actions = add_actions(
        sub,
        "zones",
        help="publish, list and withdraw geographical zones (ED-269, ED-318) on a channel server",
        description="The publishing party is the zones' authority; zones are public to every party.",
    )
    publish = add_action(
        actions,
        "publish",
        help="publish the zones of an ED-269 or ED-318 file (each replaces your zone of its identifier)",
    )
    publish.add_argument("file", metavar="FILE", help="an ED-269 (JSON) or ED-318 (GeoJSON) zone file")
    add_action(actions, "list", help="list every published zone")
    withdraw = add_action(actions, "withdraw", help="withdraw one of your zones")
    withdraw.add_argument("identifier", metavar="ID", help="the zone's identifier")


def run_zones(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict zones ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    client = client_from_args(args, transport)
    out = console()
    if args.zones_command == "publish":
        from deconflict.formats import load_document, read_plan_or_zones

        read_plan_or_zones(args.file, zones_only=True)  # refused here, naming the file, feature and field
        with problems_located_in(args.file):
            published = client.publish_zones(load_document(args.file))
        if args.json:
            print_json(published)
        else:
            out.print(f"published {len(published['published'])} zones: {', '.join(published['published'])}")
        return 0
    if args.zones_command == "list":
        print_listing(args, out, client.zones(), _zones_table, "no zones")
        return 0
    client.withdraw_zone(args.identifier)
    if args.json:
        print(json.dumps({"withdrawn": args.identifier}))
    else:
        out.print(f"withdrew zone {args.identifier}")
    return 0


def _zones_table(zones: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(title="Zones", title_justify="left")
    for column in ("authority", "zone", "restriction", "layers", "message", "published"):
        table.add_column(column)
    for z in zones:
        table.add_row(
            z["party"],
            z["identifier"] + (f" {z['name']}" if z["name"] else ""),
            z["restriction"],
            str(len(z["layers"])),
            z["message"] or "",
            z["published"],
        )
    return table
