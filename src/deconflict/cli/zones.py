"""``deconflict zones publish|list|withdraw``: geographical zones on a channel server.

The party that publishes zones is their authority: a filing that enters one of
their applicable restrictions is a conflict with it. Zones are public: every
party lists them all.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import add_common_arguments, client_from_args, located_problems
from deconflict.cli.output import console
from deconflict.errors import InputError

if TYPE_CHECKING:
    from rich.table import Table

    from deconflict.client import Transport

__all__ = ["add_zones_parser", "run_zones"]


def add_zones_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``zones`` and its actions to the ``deconflict`` parser."""
    zones = sub.add_parser(
        "zones",
        help="publish, list and withdraw geographical zones (ED-269, ED-318) on a channel server",
        description="The publishing party is the zones' authority; zones are public to every party.",
    )
    actions = zones.add_subparsers(dest="zones_command", required=True, metavar="ACTION")
    publish = actions.add_parser(
        "publish",
        help="publish the zones of an ED-269 or ED-318 file (each replaces your zone of its identifier)",
    )
    add_common_arguments(publish)
    publish.add_argument("file", metavar="FILE", help="an ED-269 (JSON) or ED-318 (GeoJSON) zone file")
    listing = actions.add_parser("list", help="list every published zone")
    add_common_arguments(listing)
    withdraw = actions.add_parser("withdraw", help="withdraw one of your zones")
    add_common_arguments(withdraw)
    withdraw.add_argument("identifier", metavar="ID", help="the zone's identifier")


def run_zones(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict zones ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    client = client_from_args(args, transport)
    out = console()
    if args.zones_command == "publish":
        from deconflict.client import ChannelError
        from deconflict.formats import load_document, read_plan_or_zones

        read_plan_or_zones(args.file, zones_only=True)  # refused here, naming the file, feature and field
        try:
            published = client.publish_zones(load_document(args.file))
        except ChannelError as exc:
            problems = located_problems(exc, args.file)
            if problems:
                raise InputError(problems) from exc
            raise
        if args.json:
            print(json.dumps(published, indent=2, ensure_ascii=False))
        else:
            out.print(f"published {len(published['published'])} zones: {', '.join(published['published'])}")
        return 0
    if args.zones_command == "list":
        zones = client.zones()
        if args.json:
            print(json.dumps(zones, indent=2, ensure_ascii=False))
        elif zones:
            out.print(_zones_table(zones))
        else:
            out.print("no zones")
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
