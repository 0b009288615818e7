"""The ``deconflict`` command: parse arguments, call the library, format output.

``main(argv)`` returns the exit code: 0 success (no conflict), 1 conflicts
found, 2 bad input (a bad setting too), 130 interrupted (Ctrl-C). Subcommand
modules are imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from deconflict import __version__
from deconflict.cli import arguments
from deconflict.errors import DeconflictError

__all__ = ["main"]

EXIT_OK = 0
EXIT_CONFLICTS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (SIGINT), as a shell reports it: 128 + 2."""


def _add_floor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-alt-ft",
        type=arguments.non_negative,
        metavar="FT",
        help="leave out aircraft at or below FT feet (default: none, or DECONFLICT_TACTICAL_MIN_ALT_M; "
        "ground status comes from the file's on_ground column)",
    )


def _add_format_option(parser: argparse.ArgumentParser) -> None:
    from deconflict.feeds import FORMATS

    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="the file's format: csv (track CSV), sbs (BaseStation text), opensky (OpenSky state vectors), "
        "beast (Beast binary), asterix (ASTERIX CAT021/CAT062 data blocks); "
        "default: detected from its content",
    )
    add_beast_options(parser)


def add_beast_options(parser: argparse.ArgumentParser) -> None:
    """``--start-time`` and ``--reference``: what a Beast capture (or an ASTERIX recording's date)
    does not say itself."""
    parser.add_argument(
        "--start-time",
        type=arguments.start_time,
        default=0.0,
        metavar="TIME",
        help="a Beast capture's first frame time (epoch seconds or ISO 8601, UTC); its MLAT clock has no "
        "epoch (default 0: times are seconds into the capture). For ASTERIX, the recording's start: its "
        "times of day are dated from this day on (default: 1970-01-01)",
    )
    parser.add_argument(
        "--reference",
        type=arguments.position,
        default=None,
        metavar="LAT,LON",
        help="a Beast capture's receiver position, to decode lone CPR positions locally "
        "(default: only even/odd pairs, decoded globally)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deconflict",
        description="Deconfliction channel between parties sharing an airspace.",
    )
    parser.add_argument("--version", action="version", version=f"deconflict {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML file of settings (as DECONFLICT_CONFIG; DECONFLICT_* variables override it)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="find conflicts between planned volumes of different parties",
        description=(
            "Strategic check of plan files (GeoJSON, F3548 or NOTAM, told apart by their content) "
            "against each other and against the geographical zones (ED-269, ED-318) given. "
            "Exit 0: no conflict, 1: conflicts or restrictions entered, 2: bad input."
        ),
    )
    check.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="plan file (GeoJSON, F3548 volumes, NOTAM text) or geographical zone file (ED-269, ED-318)",
    )
    check.add_argument(
        "--zones",
        action="append",
        default=[],
        metavar="FILE",
        help="a geographical zone file (ED-269 or ED-318; repeatable): refused if it is not one",
    )
    check.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    check.add_argument(
        "--buffer-m",
        type=arguments.non_negative,
        default=0.0,
        metavar="M",
        help="grow every footprint by M metres (default 0)",
    )
    check.add_argument(
        "--vertical-buffer-m",
        type=arguments.non_negative,
        default=0.0,
        metavar="M",
        help="grow every altitude band by M metres up and down (default 0)",
    )
    check.add_argument(
        "--time-buffer-s",
        type=arguments.non_negative,
        default=0.0,
        metavar="S",
        help="grow every time window by S seconds at both ends (default 0)",
    )

    detect = sub.add_parser(
        "detect",
        help="predict losses of separation in one snapshot of aircraft states",
        description=(
            "Tactical detection on one snapshot: a track CSV with one row per aircraft, or a recording "
            "(BaseStation text, OpenSky state vectors) whose latest state per aircraft is taken. "
            "Exit 0: no conflict, 1: conflicts or losses of separation, 2: bad input."
        ),
    )
    detect.add_argument(
        "file",
        metavar="STATES",
        help="track CSV (one row per aircraft), SBS or OpenSky file (optionally .gz)",
    )
    _add_format_option(detect)
    detect.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    _add_floor_option(detect)

    replay = sub.add_parser(
        "replay",
        help="replay recorded tracks: alerts and incidents over time",
        description=(
            "Steps through recorded tracks, dead-reckoning each aircraft from its latest report, "
            "and reports alerts (predicted losses of separation) and incidents (actual ones). "
            "Exit 0: no incident, 1: incidents, 2: bad input."
        ),
    )
    replay.add_argument(
        "file", metavar="TRACKS", help="track CSV with time_s, SBS or OpenSky file (optionally .gz)"
    )
    _add_format_option(replay)
    replay.add_argument("--json", action="store_true", help="print the full report as one JSON document")
    replay.add_argument(
        "--step-s",
        type=arguments.positive,
        default=1.0,
        metavar="S",
        help="time step of the replay in seconds (default 1)",
    )
    replay.add_argument(
        "--report",
        metavar="DIR",
        help="also write an HTML report with plots of each incident into DIR (index.html and PNGs)",
    )
    _add_floor_option(replay)
    replay.add_argument("--force", action="store_true", help="replace an existing --report folder")

    from deconflict.cli.demo import add_demo_parser

    add_demo_parser(sub)
    from deconflict.cli.feed import add_feed_parser

    add_feed_parser(sub)
    _add_channel_commands(sub)
    _add_client_commands(sub)
    _add_db_commands(sub)
    from deconflict.cli.settings import add_settings_parser

    add_settings_parser(sub)
    return parser


def _add_client_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ops``, ``conflicts``, ``disclosures``, ``zones``: a party's plans, conflicts, ledger and
    zones, through a server."""
    from deconflict.cli.conflicts import add_conflicts_parser
    from deconflict.cli.disclosures import add_disclosures_parser
    from deconflict.cli.ops import add_ops_parser
    from deconflict.cli.zones import add_zones_parser

    add_ops_parser(sub)
    add_zones_parser(sub)
    add_conflicts_parser(sub)
    add_disclosures_parser(sub)

    from deconflict.cli.blind import add_blind_parser

    add_blind_parser(sub)

    from deconflict.cli.stats import add_stats_parser

    add_stats_parser(sub)


def _add_db_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser(
        "db",
        help="back up or restore the database (SQLite file, or PostgreSQL with pg_dump)",
        description=(
            "Online backup (consistent while the server writes) and restore of the SQLite database, "
            "or of a PostgreSQL database (--db postgresql://... or DECONFLICT_DB_URL) "
            "with pg_dump/pg_restore: "
            "the dump is checked before use, a restore goes into an empty database."
        ),
    )
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    backup = db_sub.add_parser("backup", help="write a consistent copy of the database to PATH")
    restore = db_sub.add_parser(
        "restore", help="replace the database by the backup at PATH (stop the server)"
    )
    for action in (backup, restore):
        action.add_argument("path", metavar="PATH", help="the backup file")
        action.add_argument(
            "--db",
            metavar="DB",
            help=(
                "database file, or a postgresql:// URL "
                "(default: DECONFLICT_DB_URL, else DECONFLICT_DB_PATH or deconflict.db)"
            ),
        )
        action.add_argument(
            "--force",
            action="store_true",
            help=(
                "overwrite an existing file "
                "(PostgreSQL restore: replace the dump's tables in a non-empty database)"
            ),
        )
    backup.add_argument(
        "--keep",
        type=arguments.at_least_one,
        metavar="N",
        help="PATH is a folder: write a new timestamped backup into it, keep the N newest, delete older ones",
    )


def _add_channel_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db_help = (
        "SQLite database file, or a postgresql://user@host:port/name URL "
        "(default: DECONFLICT_DB_URL, else DECONFLICT_DB_PATH or deconflict.db)"
    )
    serve = sub.add_parser(
        "serve",
        help="run the channel service (REST API, OpenAPI at /docs)",
        description=(
            "Runs the channel service until interrupted, on embedded SQLite, or on PostgreSQL with PostGIS "
            "(--db postgresql://...; several nodes may serve one database)."
        ),
    )
    serve.add_argument("--db", metavar="DB", help=db_help)
    serve.add_argument(
        "--init", action="store_true", help="create the database if it does not exist (else: an error)"
    )
    serve.add_argument(
        "--nats",
        metavar="URLS",
        help="with --db postgresql://...: the NATS JetStream servers events cross nodes through, "
        "comma-separated (default: DECONFLICT_NATS_URL)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=arguments.port, default=8000, help="port (default 8000; 0: any free port)"
    )
    serve.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="one JSON object per log line (default), or plain text",
    )
    serve.add_argument(
        "--overlay",
        metavar="FILE",
        action="append",
        help="a GeoJSON file of the web map's overlays (lines, airways, restricted areas, FIR boundaries); "
        "repeat for more (default: DECONFLICT_MAP_OVERLAYS)",
    )
    serve.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS: certificate chain (PEM)")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key, PEM")
    serve.add_argument(
        "--behind-proxy",
        action="store_true",
        help="allow plain HTTP on a --host other than loopback: a TLS reverse proxy is the only way in",
    )
    serve.add_argument(
        "--metrics-bind",
        metavar="HOST:PORT",
        type=arguments.bind,
        help="serve GET /metrics on this operator address (never on the party port); default: none",
    )

    party = sub.add_parser(
        "party",
        help="register, list, revoke parties of the channel and rotate their tokens; make a party's keys",
        description="Manages the parties (and their credentials) in the server's database.",
    )
    party_sub = party.add_subparsers(dest="party_command", required=True, metavar="ACTION")
    add = party_sub.add_parser(
        "add",
        help="register a party; prints its bearer token once",
        description=(
            "Registers a party with a new bearer token (printed once; only its hash is stored) and an "
            "Ed25519 public key: the one given, or a new key pair whose private key is written to a file."
        ),
    )
    add.add_argument("name", metavar="NAME", help="party name: 1-64 of a-z 0-9 _ -")
    add.add_argument("--db", metavar="DB", help=db_help)
    add.add_argument("--public-key", metavar="FILE", help="the party's Ed25519 public key (PEM)")
    add.add_argument(
        "--key-out",
        metavar="FILE",
        help="where to write a generated private key (default NAME.ed25519.pem; never overwritten)",
    )
    keygen = party_sub.add_parser(
        "keygen",
        help="make a party's Ed25519 key pair (run by the party; the public key goes to the operator)",
        description=(
            "Writes NAME.ed25519.pem (private, mode 0600) and NAME.ed25519.pub.pem into DIR and prints the "
            "public key's fingerprint. Existing files are replaced only with --force."
        ),
    )
    keygen.add_argument("name", metavar="NAME", help="party name: 1-64 of a-z 0-9 _ -")
    keygen.add_argument("--out", metavar="DIR", default=".", help="folder of the two files (default .)")
    keygen.add_argument("--force", action="store_true", help="replace existing key files")
    listing = party_sub.add_parser("list", help="list parties")
    listing.add_argument("--db", metavar="DB", help=db_help)
    listing.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    revoke = party_sub.add_parser("revoke", help="revoke a party's token (its data stays)")
    revoke.add_argument("name", metavar="NAME")
    revoke.add_argument("--db", metavar="DB", help=db_help)
    rotate = party_sub.add_parser(
        "rotate",
        help="give a party a new token (printed once); the old one works until the grace period ends",
        description=(
            "Replaces a party's bearer token without downtime: the new token is printed once, the old one "
            "is still accepted for --grace-s seconds, then refused."
        ),
    )
    rotate.add_argument("name", metavar="NAME")
    rotate.add_argument(
        "--grace-s",
        type=arguments.non_negative,
        default=3600.0,
        metavar="S",
        help="seconds the old token keeps working (default 3600; 0: refused at once)",
    )
    rotate.add_argument("--db", metavar="DB", help=db_help)

    from deconflict.cli.convert import add_convert_parser

    add_convert_parser(sub)

    from deconflict.cli.msg import add_msg_parser

    add_msg_parser(sub)

    from deconflict.cli.audit import add_audit_parser

    add_audit_parser(sub)


# Each command's module under deconflict.cli and the function that runs it.
_COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "run_check"),
    "convert": ("convert", "run_convert"),
    "detect": ("detect", "run_detect"),
    "replay": ("replay", "run_replay"),
    "demo": ("demo", "run_demo"),
    "party": ("party", "run_party"),
    "msg": ("msg", "run_msg"),
    "ops": ("ops", "run_ops"),
    "conflicts": ("conflicts", "run_conflicts"),
    "zones": ("zones", "run_zones"),
    "blind": ("blind", "run_blind"),
    "disclosures": ("disclosures", "run_disclosures"),
    "db": ("db", "run_db"),
    "audit": ("audit", "run_audit"),
    "serve": ("serve", "run_serve"),
    "feed": ("feed", "run_feed"),
    "stats": ("stats", "run_stats"),
    "settings": ("settings", "run_settings"),
}


@contextmanager
def _config_file(path: str | None) -> Iterator[None]:
    """``--config FILE`` for the duration of one command: the settings file every command reads."""
    if path is None:
        yield
        return
    from deconflict.config import CONFIG_FILE_ENV

    before = os.environ.get(CONFIG_FILE_ENV)
    os.environ[CONFIG_FILE_ENV] = path
    try:
        yield
    finally:
        if before is None:
            del os.environ[CONFIG_FILE_ENV]
        else:
            os.environ[CONFIG_FILE_ENV] = before


def _check_settings() -> None:
    """Warn about unknown ``DECONFLICT_*`` variables; refuse bad settings before any command runs."""
    from deconflict.config import load_settings, unknown_variables

    for line in unknown_variables(os.environ):
        print(f"warning: {line}", file=sys.stderr)
    load_settings()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``deconflict`` command line; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    module_name, function_name = _COMMANDS[args.command]
    try:
        with _config_file(args.config):
            _check_settings()
            # Imported only when used: `deconflict check` never loads FastAPI or numba.
            run = getattr(importlib.import_module(f"deconflict.cli.{module_name}"), function_name)
            return int(run(args))
    except DeconflictError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        # Commands that have something to say about what they did catch it themselves.
        print(f"deconflict {args.command}: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
