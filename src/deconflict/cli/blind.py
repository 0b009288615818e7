"""``deconflict blind start|join|status|reveal``: a blind session with another party, through a server.

Each party runs its own side on its own machine, with its own plan files and its
own Ed25519 key (``party keygen``); it needs the other party's public key, got
and checked as when joining a channel (never from the server, which only
relays). The server sees the session's public parameters and opaque messages.
Each side prints which of its own volumes matched the other's cover, at the
agreed resolution: the cells (a column, a row, a time slot, an altitude band)
where they did; ``--out FILE`` also writes those cells as GeoJSON, which the web map
shows from the operator's own disk.

``blind reveal RESULT`` is the way out of blindness, one way: it files, as ordinary
operations through the channel, only the party's own volumes that matched (each matched
operation with just its matched volumes, as ``blind:SESSION:OPERATION``), so that both
sides get the exact check's minimal facts; nothing else of the plan is sent.
"""

from __future__ import annotations

import argparse
import json
import secrets
from typing import TYPE_CHECKING, Any

from deconflict.cli.arguments import at_least_one, non_negative, positive_finite
from deconflict.cli.ops import add_common_arguments, client_from_args
from deconflict.cli.output import console
from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.blind.grid import GridParameters
    from deconflict.blind.protocol import BlindResult
    from deconflict.client import ChannelClient, Transport
    from deconflict.strategic.volume import Volume

__all__ = ["add_blind_parser", "run_blind"]


def _add_party_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--plan", required=True, action="append", metavar="FILE", help="your plan file (repeat for more)"
    )
    parser.add_argument("--key", required=True, metavar="FILE", help="your Ed25519 private key (PEM)")
    parser.add_argument(
        "--peer-key",
        required=True,
        metavar="FILE",
        help="the other party's Ed25519 public key (PEM), got from it and its fingerprint checked",
    )
    grid = parser.add_argument_group("the agreed public parameters (both parties give the same)")
    grid.add_argument("--cell-deg", required=True, type=positive_finite, help="cell size in degrees")
    grid.add_argument("--slot-s", required=True, type=positive_finite, help="time slot in seconds")
    grid.add_argument("--band-m", required=True, type=positive_finite, help="altitude band in metres")
    grid.add_argument(
        "--cap", required=True, type=at_least_one, help="elements per party (sets padded to it)"
    )
    grid.add_argument("--buffer-m", type=non_negative, default=0.0, help="horizontal buffer, metres")
    grid.add_argument("--vertical-buffer-m", type=non_negative, default=0.0, help="vertical buffer, metres")
    grid.add_argument("--time-buffer-s", type=non_negative, default=0.0, help="time buffer, seconds")
    parser.add_argument(
        "--timeout-s", type=positive_finite, default=3600.0, help="how long to wait for the other party"
    )
    parser.add_argument("--poll-s", type=positive_finite, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="also write the matched cells to FILE as GeoJSON (rectangles), for the web map or any GIS",
    )


def add_blind_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``blind`` and its actions to the ``deconflict`` parser."""
    blind = sub.add_parser(
        "blind",
        help="find which of your volumes meet another party's without either showing its plan",
        description="The server relays sealed messages and learns nothing of either plan.",
    )
    actions = blind.add_subparsers(dest="blind_command", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start a session with PEER and run your side of it")
    start.add_argument("peer", metavar="PEER", help="the other party")
    start.add_argument("--session", metavar="ID", help="the session id (a random one by default)")
    _add_party_arguments(start)
    join = actions.add_parser("join", help="join the session ID another party started and run your side")
    join.add_argument("session", metavar="ID", help="the session id the other party gave you")
    _add_party_arguments(join)
    status = actions.add_parser("status", help="a session's parties, parameters and phases posted")
    status.add_argument("session", metavar="ID")
    add_common_arguments(status)
    reveal = actions.add_parser(
        "reveal",
        help="file just your matched volumes as operations, for the exact check (exit 1: conflicts found)",
        description="Files, through the channel, only the volumes of RESULT that matched: each matched "
        "operation as blind:SESSION:OPERATION with just its matched volumes. The other party then learns "
        "that they exist, and the minimal facts of any conflict: there is no going back to blind.",
    )
    reveal.add_argument(
        "result",
        metavar="RESULT",
        help="the session's result: what `start`/`join` printed with --json, or --out",
    )
    reveal.add_argument(
        "--plan", required=True, action="append", metavar="FILE", help="your plan file (repeat for more)"
    )
    reveal.add_argument("--yes", action="store_true", help="file without asking first")
    add_common_arguments(reveal)


def _params(args: argparse.Namespace, session: str) -> GridParameters:
    from deconflict.blind.grid import GridParameters
    from deconflict.errors import DeconflictError
    from deconflict.strategic.buffers import Buffers

    try:
        return GridParameters(
            session,
            cell_deg=args.cell_deg,
            slot_s=args.slot_s,
            band_m=args.band_m,
            cap=args.cap,
            buffers=Buffers(args.buffer_m, args.vertical_buffer_m, args.time_buffer_s),
        )
    except (ValueError, DeconflictError) as exc:
        raise InputError([Problem("command line", str(exc))]) from exc


def _read_key(path: str, private: bool) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    try:
        with open(path, "rb") as f:
            data = f.read()
        key = load_pem_private_key(data, None) if private else load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError([Problem(path, f"not a readable Ed25519 PEM key ({exc})")]) from exc
    if not isinstance(key, Ed25519PrivateKey if private else Ed25519PublicKey):
        raise InputError([Problem(path, "not an Ed25519 key")])
    return key


def _volumes(paths: list[str]) -> list[Volume]:
    from deconflict.formats import read_plan

    return [v for path in paths for v in read_plan(path)]


def _run_side(
    client: ChannelClient, args: argparse.Namespace, me: str, peer: str, params: GridParameters
) -> int:
    from deconflict.blind.cover import cover_volumes
    from deconflict.blind.protocol import BlindParty

    volumes = _volumes(args.plan)
    party = BlindParty(
        params,
        me,
        peer,
        _read_key(args.key, private=True),
        _read_key(args.peer_key, private=False),
        cover_volumes(volumes, params),
    )
    result = client.run_blind_session(party, poll_s=args.poll_s, timeout_s=args.timeout_s)
    _print_result(args, params, volumes, result)
    return 0


def _cell(params: GridParameters, row: list[int]) -> dict[str, Any]:
    i, j, k, band = row
    c = params.cell_deg
    return {
        "lon_deg": [round(-180.0 + i * c, 9), round(-180.0 + (i + 1) * c, 9)],
        "lat_deg": [round(-90.0 + j * c, 9), round(-90.0 + (j + 1) * c, 9)],
        "time_s": [k * params.slot_s, (k + 1) * params.slot_s],
        "alt_msl_m": [band * params.band_m, (band + 1) * params.band_m],
    }


def _cells_of(
    params: GridParameters, volumes: list[Volume], result: BlindResult
) -> dict[int, list[list[int]]]:
    """The matched cells of each own volume (by index), from the party's own cover."""
    from deconflict.blind.cover import cover_volumes

    cover = cover_volumes(volumes, params)
    row_of = {tuple(cell): r for r, cell in enumerate(cover.cells.tolist())}
    cells_of: dict[int, list[list[int]]] = {}
    for cell in result.cells.tolist():
        r = row_of[tuple(cell)]
        for owner in cover.owners[cover.starts[r] : cover.starts[r + 1]].tolist():
            cells_of.setdefault(int(owner), []).append(cell)
    return cells_of


def _iso(time_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _result_geojson(
    params: GridParameters, volumes: list[Volume], cells_of: dict[int, list[list[int]]], result: BlindResult
) -> dict[str, Any]:
    """The matched cells as a GeoJSON FeatureCollection: one rectangle per cell, with the own volumes in it.

    Each feature's properties give the cell's ``time_s`` and ``alt_msl_m`` bounds (as in
    ``--json``), the slot as ISO 8601 ``time_start``/``time_end``, and the ids of the party's
    own ``volumes`` (and their ``operations``) that matched there.
    """
    owners: dict[tuple[int, ...], list[int]] = {}
    for index in result.volumes.tolist():
        for cell in cells_of.get(index, []):
            owners.setdefault(tuple(cell), []).append(index)
    features = []
    for cell in result.cells.tolist():
        bounds = _cell(params, cell)
        (lon0, lon1), (lat0, lat1) = bounds["lon_deg"], bounds["lat_deg"]
        indices = owners.get(tuple(cell), [])
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
                },
                "properties": {
                    **bounds,
                    "time_start": _iso(bounds["time_s"][0]),
                    "time_end": _iso(bounds["time_s"][1]),
                    "volumes": [volumes[i].id for i in indices],
                    "operations": sorted({volumes[i].operation for i in indices}),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "deconflict_blind": {"session": params.session_id, "parameters": params.describe()},
        "features": features,
    }


def _write_geojson(
    path: str,
    params: GridParameters,
    volumes: list[Volume],
    cells_of: dict[int, list[list[int]]],
    result: BlindResult,
) -> None:
    doc = _result_geojson(params, volumes, cells_of, result)
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
    except OSError as exc:
        raise InputError([Problem(path, f"cannot write the result ({exc})")]) from exc


def _print_result(
    args: argparse.Namespace, params: GridParameters, volumes: list[Volume], result: BlindResult
) -> None:
    cells_of = _cells_of(params, volumes, result)
    matched = [
        {
            "volume": volumes[index].id,
            "operation": volumes[index].operation,
            "cells": [_cell(params, cell) for cell in cells_of.get(index, [])],
        }
        for index in result.volumes.tolist()
    ]
    if args.out:
        _write_geojson(args.out, params, volumes, cells_of, result)
    if args.json:
        print(json.dumps({"session": params.session_id, "parameters": params.describe(), "matched": matched}))
        return
    out = console()
    if not matched:
        out.print(f"session {params.session_id}: none of your {len(volumes)} volumes meets the other party's")
        return
    out.print(
        f"session {params.session_id}: {len(matched)} of your {len(volumes)} volumes meet the other party's"
    )
    for m in matched:
        out.print(f"  {m['volume']} (operation {m['operation']}): {len(m['cells'])} cells")


def _read_result(path: str) -> tuple[str, dict[str, list[str]]]:
    """The session and the matched volume ids per operation of a result file (``--json`` or ``--out``)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise InputError([Problem(path, f"not a readable blind session result ({exc})")]) from exc
    pairs: list[tuple[str, str]] = []
    try:
        if isinstance(doc, dict) and "matched" in doc:
            session = doc["session"]
            pairs = [(m["operation"], m["volume"]) for m in doc["matched"]]
        else:
            session = doc["deconflict_blind"]["session"]
            for feature in doc["features"]:
                props = feature["properties"]
                if len(props["operations"]) == 1:
                    pairs += [(props["operations"][0], v) for v in props["volumes"]]
                else:  # the volumes' own operations are read from the plans
                    pairs += [("", v) for v in props["volumes"]]
    except (KeyError, TypeError, IndexError) as exc:
        message = f"not a blind session result (from `blind start|join --json` or `--out`): no {exc}"
        raise InputError([Problem(path, message)]) from exc
    if not isinstance(session, str) or not all(isinstance(x, str) for pair in pairs for x in pair):
        raise InputError([Problem(path, "not a blind session result: session and ids must be text")])
    matched: dict[str, list[str]] = {}
    for operation, volume in pairs:
        ids = matched.setdefault(operation, [])
        if volume not in ids:
            ids.append(volume)
    return session, matched


def _revealed(
    result_path: str, session: str, matched: dict[str, list[str]], volumes: list[Volume]
) -> dict[str, list[Volume]]:
    """The plans' volumes that matched, per operation id to file them under (``blind:SESSION:OPERATION``)."""
    by_id: dict[str, list[Volume]] = {}
    for v in volumes:
        by_id.setdefault(v.id, []).append(v)
    chosen: dict[str, list[Volume]] = {}
    problems = []
    for operation, ids in matched.items():
        for volume_id in ids:
            found = [v for v in by_id.get(volume_id, []) if operation in ("", v.operation)]
            if not found:
                where = f" of operation {operation}" if operation else ""
                problems.append(
                    Problem(result_path, f"volume {volume_id}{where} is in none of the --plan files")
                )
            elif len(found) > 1:  # a cell of the --out file named several operations: which one is not said
                message = (
                    f"volume {volume_id} is in several operations of the --plan files "
                    f"({', '.join(v.operation for v in found)}): give the `--json` result, which says which"
                )
                problems.append(Problem(result_path, message))
            for v in found:
                filed_as = f"blind:{session}:{v.operation}"
                if not any(v is w for w in chosen.setdefault(filed_as, [])):
                    chosen[filed_as].append(v)
    too_long = [f for f in chosen if len(f) > 128]
    problems += [Problem(result_path, f"operation id {f} is longer than 128 characters") for f in too_long]
    if problems:
        raise InputError(problems)
    return chosen


def _confirmed(chosen: dict[str, list[Volume]]) -> bool:
    import sys

    count = sum(len(vs) for vs in chosen.values())
    print(
        f"This files {count} matched volumes as {len(chosen)} operations through the channel: "
        "the other party will learn that they exist and the minimal facts of any conflict.",
        file=sys.stderr,
    )
    for filed_as, vs in chosen.items():
        print(f"  {filed_as}: {', '.join(v.id for v in vs)}", file=sys.stderr)
    print("File them? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _reveal(client: ChannelClient, args: argparse.Namespace) -> int:
    from deconflict.cli.ops import conflicts_table
    from deconflict.strategic.geojson import volume_feature

    session, matched = _read_result(args.result)
    chosen = _revealed(args.result, session, matched, _volumes(args.plan))
    out = console()
    if not chosen:
        if args.json:
            print(json.dumps({"session": session, "filed": []}))
        else:
            out.print(f"session {session}: none of your volumes matched; nothing filed")
        return 0
    if not args.yes and not _confirmed(chosen):
        if args.json:
            print(json.dumps({"session": session, "filed": []}))
        else:
            out.print("nothing filed")
        return 0
    filed = []
    for filed_as, vs in chosen.items():
        features = []
        for v in vs:
            feature = volume_feature(v)
            del feature["properties"]["party"]
            feature["properties"]["operation"] = filed_as
            features.append(feature)
        collection = {"type": "FeatureCollection", "features": features}
        filed.append(client.file_operation(filed_as, collection, max(v.priority for v in vs)))
    if args.json:
        print(json.dumps({"session": session, "filed": filed}, ensure_ascii=False))
    else:
        for one in filed:
            op = one["operation"]
            n = len(op.get("volumes", {}).get("features", []))
            out.print(f"filed {op['id']} version {op['version']} ({n} volumes)")
        conflicts = [c for one in filed for c in one["conflicts"]]
        out.print(conflicts_table(conflicts, "Conflicts found") if conflicts else "no conflict")
    return 1 if any(one["conflicts"] for one in filed) else 0


def run_blind(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run ``deconflict blind ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    client = client_from_args(args, transport)
    if args.blind_command == "reveal":
        return _reveal(client, args)
    if args.blind_command == "status":
        found = client.blind_status(args.session)
        if args.json:
            print(json.dumps(found))
        else:
            posted = ", ".join(f"{p['sender']} {p['phase']}" for p in found["posted"]) or "nothing yet"
            console().print(
                f"session {found['session']}: {found['initiator']} with {found['peer']}; posted: {posted}\n"
                f"parameters: {found['parameters']}"
            )
        return 0
    me = str(client.me()["name"])
    if args.blind_command == "start":
        params = _params(args, args.session or f"blind-{secrets.token_hex(8)}")
        client.blind_start(params.session_id, args.peer, params.describe())
        if not args.json:
            console().print(f"session {params.session_id}: give this id to {args.peer} to join")
        return _run_side(client, args, me, args.peer, params)
    params = _params(args, args.session)
    found = client.blind_status(args.session)
    if found["parameters"] != params.describe():
        raise InputError(
            [
                Problem(
                    "command line",
                    f"session {args.session}: the parameters {found['initiator']} started it with differ "
                    f"from yours: {found['parameters']}",
                )
            ]
        )
    return _run_side(client, args, me, str(found["initiator"]), params)
