"""``deconflict convert IN OUT``: a plan from one format to another (:mod:`deconflict.formats`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deconflict.errors import InputError, Problem

__all__ = ["add_convert_parser", "run_convert"]

_SUFFIXES = {".geojson": "geojson", ".kml": "kml"}
"""Output formats told by the file's suffix; any other needs --to (a .json may be any of several)."""


def add_convert_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``convert`` to the ``deconflict`` parser."""
    from deconflict.formats import FORMATS

    names = ", ".join(FORMATS)
    convert = sub.add_parser(
        "convert",
        help="convert a plan between formats (GeoJSON, F3548, NOTAM, KML; ED-269/ED-318 zones in)",
        description=(
            "Reads a plan (its format told by its content unless --from names it) and writes it in "
            f"another format (--to, or the suffix of OUT: .geojson, .kml). Formats: {names}; "
            "some are named but not supported yet. Exit 0: written, 2: bad input."
        ),
    )
    convert.add_argument("input", metavar="IN", help="the plan file")
    convert.add_argument("output", metavar="OUT", help="the file written ('-': standard output)")
    convert.add_argument(
        "--from", dest="from_format", metavar="F", help="IN's format (default: from its content)"
    )
    convert.add_argument(
        "--to", dest="to_format", metavar="F", help="OUT's format (default: from OUT's suffix)"
    )
    convert.add_argument(
        "--party",
        metavar="NAME",
        help="party of volumes that name none (default: IN's file name without suffix)",
    )
    convert.add_argument(
        "--operation",
        metavar="OP",
        help="an F3548 plan's operation (default: its intent's id, else IN's name), or a NOTAM's (its id)",
    )
    convert.add_argument(
        "--horizon-start",
        metavar="T",
        help=(
            "geographical zones: expand their schedules over 90 days from T (RFC 3339; default: "
            "the earliest date the zones give, else today 00:00 UTC)"
        ),
    )
    convert.add_argument(
        "--fir",
        metavar="XXXX",
        help="a written NOTAM's FIR (ICAO location indicator; default XXXX, for the AIS office to fill)",
    )


def run_convert(args: argparse.Namespace) -> int:
    """Run ``deconflict convert``; errors propagate to :func:`deconflict.cli.main`."""
    from deconflict.config import load_settings
    from deconflict.formats import format_named, read_plan_document, write_plan
    from deconflict.strategic.geojson import parse_datetime_s

    if args.from_format is not None:
        format_named(args.from_format, "command line", reading=True, field="--from")
    to_format = args.to_format or _SUFFIXES.get(Path(args.output).suffix.lower())
    if to_format is None:
        message = f"cannot tell the format of {args.output!r} from its name: give --to"
        raise InputError([Problem("command line", message, None, "--to")])
    format_named(to_format, "command line", reading=False, field="--to")
    settings = load_settings()
    zones_start_s = None
    if args.horizon_start is not None:
        try:
            zones_start_s = parse_datetime_s(args.horizon_start)
        except ValueError as exc:
            message = f"not an RFC 3339 time {args.horizon_start!r}: {exc}"
            raise InputError([Problem("command line", message, None, "--horizon-start")]) from exc
    found, _document, volumes = read_plan_document(
        args.input,
        args.from_format,
        settings.limits(),
        party=args.party,
        operation=args.operation,
        zones_start_s=zones_start_s,
    )
    options = {} if args.fir is None else {"fir": args.fir}
    text = write_plan(volumes, to_format, margins=settings.altitude_margins(), **options)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError([Problem(args.output, f"cannot write file: {exc.strerror or exc}")]) from exc
        parties = sorted({v.party for v in volumes})
        print(
            f"{args.input} ({found.name}) -> {args.output} ({to_format}): "
            f"{len(volumes)} volume{'s' if len(volumes) != 1 else ''} of {', '.join(parties)}",
            file=sys.stderr,
        )
    return 0
