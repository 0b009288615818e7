"""``deconflict ops file|list|withdraw|activate|release|extend``: a party's operations on a channel server.

``ops file`` and ``ops extend`` exit 1 when the check found conflicts (as ``check`` does), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from deconflict.cli.output import console
from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from deconflict.client import ChannelClient, ChannelError, Transport

__all__ = [
    "Actions",
    "add_action",
    "add_actions",
    "add_common_arguments",
    "add_insecure_argument",
    "add_ops_parser",
    "add_server_arguments",
    "client_from_args",
    "conflicts_table",
    "located_problems",
    "print_json",
    "print_listing",
    "problems_located_in",
    "run_ops",
    "zones_entered_table",
]


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url``, ``--insecure``, ``--token``; URL and token default to ``DECONFLICT_URL``, ``_TOKEN``."""
    parser.add_argument("--url", help="the server, e.g. http://127.0.0.1:8000 (default: DECONFLICT_URL)")
    add_insecure_argument(parser)
    parser.add_argument("--token", help="the party's bearer token (default: DECONFLICT_TOKEN)")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url``, ``--token``, ``--insecure`` and ``--json``: what every client command takes."""
    add_server_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def add_insecure_argument(parser: argparse.ArgumentParser) -> None:
    """``--insecure``: allow a plain ``http://`` URL to another machine (the token in clear text)."""
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http:// to a host other than this machine (sends the token in clear text)",
    )


# A parser's subcommands: argparse's own type, generic only to type checkers.
Actions: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_actions(sub: Actions, command: str, help: str, description: str) -> Actions:
    """Add a client ``command`` to the ``deconflict`` parser: its actions, added to what this returns.

    The action chosen is ``args.<command>_command``.
    """
    parser = sub.add_parser(command, help=help, description=description)
    return parser.add_subparsers(dest=f"{command}_command", required=True, metavar="ACTION")


def add_action(
    actions: Actions, name: str, help: str, description: str | None = None
) -> argparse.ArgumentParser:
    """Add an action taking the common arguments (:func:`add_common_arguments`) to a client command."""
    parser = actions.add_parser(name, help=help, description=description)
    add_common_arguments(parser)
    return parser


def add_ops_parser(sub: Actions) -> None:
    """Add ``ops`` and its actions to the ``deconflict`` parser."""
    actions = add_actions(
        sub,
        "ops",
        help="file, list, withdraw, activate, release and extend the party's operations on a channel server",
        description="Talks to a channel server with the party's token.",
    )
    file = add_action(
        actions,
        "file",
        help="file a plan (GeoJSON or F3548) as an operation (exit 1: conflicts found)",
        description="Files (or, with --replaces, amends) an operation; prints the conflicts found.",
    )
    file.add_argument(
        "file", metavar="FILE", help="GeoJSON FeatureCollection (one Feature per volume) or F3548 volumes"
    )
    file.add_argument(
        "--from", dest="from_format", metavar="F", help="FILE's format (default: from its content)"
    )
    file.add_argument("--id", required=True, metavar="OP", help="the operation's id")
    file.add_argument(
        "--priority",
        type=int,
        metavar="N",
        help="the operation's priority (default: the file's, else 0, or unchanged when amending)",
    )
    file.add_argument(
        "--replaces", type=int, metavar="VERSION", help="amend the operation: the version it replaces"
    )

    add_action(actions, "list", help="list the party's operations")
    withdraw = add_action(actions, "withdraw", help="withdraw an operation")
    withdraw.add_argument("id", metavar="OP", help="the operation's id")
    withdraw.add_argument("--version", required=True, type=int, help="the version withdrawn (its ETag)")

    for action, text in (
        ("activate", "activate an operation: its activity has started"),
        ("release", "release an activated operation early: it ends now, its conflicts are resolved"),
        ("extend", "extend an operation running late (exit 1: new conflicts found)"),
    ):
        change = add_action(actions, action, help=text)
        change.add_argument("id", metavar="OP", help="the operation's id")
        change.add_argument(
            "--version", type=int, help="the version changed (its ETag; default: the current one, read first)"
        )
        if action == "extend":
            change.add_argument(
                "--until", required=True, metavar="TIME", help="RFC 3339 new end, e.g. 2026-01-01T14:00:00Z"
            )


def client_from_args(
    args: argparse.Namespace, transport: Transport | None = None, private_key_pem: bytes | None = None
) -> ChannelClient:
    """The client of ``--url`` (or ``DECONFLICT_URL``) with ``--token`` (or ``DECONFLICT_TOKEN``).

    Raises
    ------
    InputError
        If there is no URL or no token.
    """
    url = args.url or os.environ.get("DECONFLICT_URL")
    token = args.token or os.environ.get("DECONFLICT_TOKEN")
    missing = [
        Problem("command line", f"give {option} or set {variable}", None, option)
        for option, variable, value in (
            ("--url", "DECONFLICT_URL", url),
            ("--token", "DECONFLICT_TOKEN", token),
        )
        if not value
    ]
    if missing:
        raise InputError(missing)
    assert url and token
    # Imported here: building the parser must stay cheap (no cryptography, no HTTP).
    from deconflict.client import ChannelClient

    return ChannelClient(
        url, token, private_key_pem=private_key_pem, transport=transport, insecure=args.insecure
    )


def _read_collection(path: str, fmt: str | None, operation: str) -> dict[str, Any]:
    """The FeatureCollection to file: a GeoJSON file as it is (the server checks it), another converted.

    Converted volumes name no party (the server files them as the caller's) and
    belong to ``operation``; the collection's priority is the plan's.
    """
    from deconflict.formats import detect_format, format_named, load_document, parse_plan
    from deconflict.strategic.geojson import volume_feature

    if fmt is not None:
        format_named(fmt, "command line", reading=True, field="--from")
    document = load_document(path, fmt=fmt)
    found = detect_format(document, path) if fmt is None else format_named(fmt, path, reading=True)
    if found.name in ("ed269", "ed318"):
        message = (
            f"{found.title} are restrictions an authority publishes, not an operation: "
            "check plans against them with `deconflict check --zones FILE`"
        )
        raise InputError([Problem(path, message)])
    if found.name == "geojson":
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise InputError([Problem(path, "must be a GeoJSON FeatureCollection", None, "type")])
        return document
    volumes = parse_plan(document, path, "filer", found.name, operation)[1]
    features = []
    for volume in volumes:
        feature = volume_feature(volume)
        del feature["properties"]["party"]
        features.append(feature)
    return {
        "type": "FeatureCollection",
        "features": features,
        "priority": max(v.priority for v in volumes),
    }


def located_problems(exc: ChannelError, path: str) -> list[Problem]:
    """The problems of a refused filing (422), located in the file as ``check`` locates them."""
    detail = exc.detail
    if exc.status != 422 or not isinstance(detail, list) or not all(isinstance(p, dict) for p in detail):
        return []
    return [
        Problem(
            path if p.get("source") in (None, "request") else str(p["source"]),
            str(p.get("msg")),
            p.get("record"),
            p.get("field"),
        )
        for p in detail
    ]


@contextmanager
def problems_located_in(path: str) -> Iterator[None]:
    """A channel error of a file refused (422) raised as an ``InputError`` located in ``path``.

    Raises
    ------
    InputError
        With :func:`located_problems`, when the server refused the file for them.
    """
    from deconflict.client import ChannelError

    try:
        yield
    except ChannelError as exc:
        problems = located_problems(exc, path)
        if problems:
            raise InputError(problems) from exc
        raise


def print_json(document: object) -> None:
    """``--json``: one JSON document, indented, as it is (non-ASCII kept)."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def print_listing(
    args: argparse.Namespace,
    out: Console,
    items: list[dict[str, Any]],
    table: Callable[[list[dict[str, Any]]], Table],
    nothing: str,
) -> None:
    """A ``list`` action's output: JSON with ``--json``, else ``table(items)``, or ``nothing`` when empty."""
    if args.json:
        print_json(items)
    elif items:
        out.print(table(items))
    else:
        out.print(nothing)


def zones_entered_table(conflicts: list[dict[str, Any]]) -> Table:
    """The zones that conflicts enter, as the zones publish themselves: why, and whom to contact."""
    from rich.table import Table

    table = Table(title="Zones entered", title_justify="left")
    for column in ("conflict", "zone", "restriction", "why", "contact"):
        table.add_column(column)
    for c in conflicts:
        zone = c.get("zone")
        if not zone:
            continue
        why = [", ".join(zone["reasons"]), zone["other_reason"], zone["message"], zone["conditions"]]
        contacts = [
            ", ".join(
                str(a[k])
                for k in ("name", "service", "contact_name", "email", "phone", "site_url")
                if a.get(k)
            )
            for a in zone["authorities"]
        ]
        table.add_row(
            str(c["id"]),
            f"[bold]{c['other_party']}[/] {zone['identifier']}"
            + (f" {zone['name']}" if zone["name"] else ""),
            str(zone["restriction"]),
            "; ".join(t for t in why if t),
            "; ".join(t for t in contacts if t),
        )
    return table


def _operations_table(operations: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(title="Operations", title_justify="left")
    for column in ("id", "version", "state", "priority", "volumes"):
        table.add_column(column, justify="right" if column in ("version", "priority", "volumes") else "left")
    for op in operations:
        volumes = op.get("volumes", {}).get("features", [])
        table.add_row(
            str(op["id"]), str(op["version"]), str(op["state"]), str(op["priority"]), str(len(volumes))
        )
    return table


def conflicts_table(conflicts: list[dict[str, Any]], title: str = "Conflicts") -> Table:
    """A table of conflict views: id, state, own operation and volume, the other side, when, where."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("id", "state", "operation", "volume", "other party", "time", "altitude m", "acks/accepts"):
        table.add_column(column)
    for c in conflicts:
        acks = ",".join(a["party"] for a in c.get("acknowledged_by", [])) or "-"
        accepts = ",".join(a["party"] for a in c.get("accepted_by", [])) or "-"
        state = c["state"]
        if c.get("resolution"):
            state += f" ({c['resolution']} by {c['resolved_by']})"
        table.add_row(
            str(c["id"]),
            state,
            c["operation"],
            c["volume"],
            c["other_party"],
            f"{c['time_start']} - {c['time_end']}",
            f"{c['altitude_lower_m']:g}-{c['altitude_upper_m']:g} {c['altitude_reference']}",
            f"{acks} / {accepts}",
        )
    return table


def _change(client: ChannelClient, args: argparse.Namespace, out: Console) -> int:
    version = args.version if args.version is not None else int(client.operation(args.id)["version"])
    changed = client.change_operation(args.id, args.ops_command, version, getattr(args, "until", None))
    if args.json:
        print_json(changed)
        return 1 if changed.get("conflicts") else 0
    op = changed.get("operation", changed)
    done = {"activate": "activated", "release": "released", "extend": "extended"}[args.ops_command]
    out.print(f"{done} {op['id']}: version {op['version']}, {op['state']}")
    if args.ops_command != "extend":
        return 0
    out.print(
        conflicts_table(changed["conflicts"], "Conflicts found") if changed["conflicts"] else "no conflict"
    )
    return 1 if changed["conflicts"] else 0


def run_ops(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict ops ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    client = client_from_args(args, transport)
    out = console()
    if args.ops_command == "file":
        collection = _read_collection(args.file, args.from_format, args.id)
        priority = args.priority if args.priority is not None else collection.get("priority")
        with problems_located_in(args.file):
            filed = client.file_operation(args.id, collection, priority, args.replaces)
        if args.json:
            print_json(filed)
        else:
            op = filed["operation"]
            out.print(f"filed {op['id']} version {op['version']} ({op['state']}, priority {op['priority']})")
            if filed["conflicts"]:
                out.print(conflicts_table(filed["conflicts"], "Conflicts found"))
                if any(c.get("zone") for c in filed["conflicts"]):
                    out.print(zones_entered_table(filed["conflicts"]))
            else:
                out.print("no conflict")
        return 1 if filed["conflicts"] else 0
    if args.ops_command == "list":
        operations = client.operations()
        print_listing(args, out, operations, _operations_table, "no operations")
        return 0
    if args.ops_command in ("activate", "release", "extend"):
        return _change(client, args, out)
    withdrawn = client.withdraw(args.id, args.version)
    if args.json:
        print_json(withdrawn)
    else:
        out.print(f"withdrew {withdrawn['id']}: version {withdrawn['version']}, {withdrawn['state']}")
    return 0
