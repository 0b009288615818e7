"""The ``deconflict`` command: parse arguments, call the library, format output.

``main(argv)`` returns the exit code: 0 success (no conflict), 1 conflicts
found, 2 bad input. Subcommand modules are imported only when used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from deconflict import __version__
from deconflict.errors import DeconflictError

__all__ = ["main"]

EXIT_OK = 0
EXIT_CONFLICTS = 1
EXIT_BAD_INPUT = 2


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deconflict",
        description="Deconfliction channel between parties sharing an airspace.",
    )
    parser.add_argument("--version", action="version", version=f"deconflict {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="find conflicts between planned volumes of different parties",
        description=(
            "Strategic check of GeoJSON volume files. Exit 0: no conflict, 1: conflicts, 2: bad input."
        ),
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="GeoJSON FeatureCollection of volumes")
    check.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    check.add_argument(
        "--buffer-m",
        type=_non_negative,
        default=0.0,
        metavar="M",
        help="grow every footprint by M metres (default 0)",
    )
    check.add_argument(
        "--vertical-buffer-m",
        type=_non_negative,
        default=0.0,
        metavar="M",
        help="grow every altitude band by M metres up and down (default 0)",
    )
    check.add_argument(
        "--time-buffer-s",
        type=_non_negative,
        default=0.0,
        metavar="S",
        help="grow every time window by S seconds at both ends (default 0)",
    )

    demo = sub.add_parser("demo", help="run the built-in two-party scenario")
    demo.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``deconflict`` command line; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        if args.command == "check":
            from deconflict.cli.check import run_check

            return run_check(args)
        if args.command == "demo":
            from deconflict.cli.check import run_demo

            return run_demo(args)
    except DeconflictError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser.error(f"unknown command {args.command!r}")
    return EXIT_BAD_INPUT  # pragma: no cover
