"""``deconflict audit verify|export|key|checkpoint``: check the hash-chained audit log.

``verify --db`` checks the whole chain (sequence, links, recomputed hashes,
server signatures) with a server key from outside the database (``--key FILE``,
or ``--pin FILE``: pinned on first use, compared after), re-verifies every
stored message signature against its sender's registered public key, and
replays the log against the stored state (every message's level, operation's
version and state, conflict's lifecycle). Whoever can write the database can
also replace the key stored in it, so that key is never trusted alone.
``--checkpoint FILE`` (from ``deconflict audit checkpoint``: the head the
server signed at some time) fails when the chain does not contain that head:
entries cut off or rewritten. ``verify --url`` and ``verify --file`` check a
party's view (entries it may not read only for their links); ``export`` writes
that view as JSON, with the party's messages (inbox and outbox, as signed) and
every party's public key, so that ``verify --file`` can check offline, with
only the server's public key, both the chain and each message's signature
against its ``message_sent`` entry. ``key`` writes the server's public key
(from the private key file beside the database, or from a server) to keep apart.
Exit 0: verified; 1: verification failed (the first bad entry is named); 2: bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import add_insecure_argument, add_server_arguments, client_from_args
from deconflict.errors import AuditError, InputError, Problem

if TYPE_CHECKING:
    from deconflict.channel.audit import AuditEntry, ChainLink, Checkpoint
    from deconflict.channel.messages import Message
    from deconflict.channel.stores import Storage
    from deconflict.config import Settings

__all__ = ["add_audit_parser", "run_audit"]

EXIT_FAILED = 1


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit`` and its actions to the ``deconflict`` parser."""
    audit = sub.add_parser(
        "audit",
        help="verify or export the hash-chained audit log",
        description="Verifies the audit chain and message signatures; exports a party's view of it.",
    )
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="verify the chain (exit 0 verified, 1 failed, 2 bad input)",
        description=(
            "With --db: the whole chain and every message signature. With --url/--token: the party's view "
            "from a server. With --file: an export, offline (give --key, the server's public key)."
        ),
    )
    source = verify.add_mutually_exclusive_group()
    source.add_argument(
        "--db",
        metavar="DB",
        help="the server's SQLite database, or a postgresql:// URL (default: DECONFLICT_DB_URL or _DB_PATH)",
    )
    source.add_argument("--url", help="a server, e.g. http://127.0.0.1:8000 (with --token)")
    source.add_argument("--file", metavar="FILE", help="an export written by `deconflict audit export`")
    verify.add_argument("--token", help="the party's bearer token (default: DECONFLICT_TOKEN)")
    key = verify.add_mutually_exclusive_group()
    key.add_argument(
        "--key", metavar="PEM", help="the server's audit public key to verify with (`deconflict audit key`)"
    )
    key.add_argument(
        "--pin",
        metavar="FILE",
        help="the server key pinned in FILE: written on first use, every later use must match it",
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        nargs="+",
        action="extend",
        default=[],
        help="heads the server signed (`deconflict audit checkpoint`): the chain must contain each",
    )
    add_insecure_argument(verify)
    export = actions.add_parser(
        "export",
        help="print the party's view of the chain, its messages and the parties' public keys as JSON",
    )
    add_server_arguments(export)
    key_action = actions.add_parser(
        "key",
        help="write the server's audit public key (PEM), to verify with --key",
        description=(
            "With --db: from the server's private key file beside the database. With --url/--token: "
            "what the server says. Keep the file apart from the database."
        ),
    )
    key_source = key_action.add_mutually_exclusive_group()
    key_source.add_argument(
        "--db",
        metavar="DB",
        help="the server's SQLite database, or a postgresql:// URL (default: DECONFLICT_DB_URL or _DB_PATH)",
    )
    key_source.add_argument("--url", help="a server (with --token)")
    key_action.add_argument("--token", help="the party's bearer token (default: DECONFLICT_TOKEN)")
    key_action.add_argument("--out", metavar="FILE", help="write it to FILE instead of stdout")
    key_action.add_argument("--force", action="store_true", help="replace an existing FILE")
    add_insecure_argument(key_action)
    checkpoint = actions.add_parser(
        "checkpoint",
        help="save the chain's head signed by the server (JSON), to verify with --checkpoint",
    )
    add_server_arguments(checkpoint)
    checkpoint.add_argument("--out", metavar="FILE", help="write it to FILE instead of stdout")
    checkpoint.add_argument("--force", action="store_true", help="replace an existing FILE")


def _read_key(path: str) -> str:
    """A public key file's PEM text; anything but an Ed25519 public key is bad input (exit 2)."""
    from deconflict.channel.audit_verify import load_public_key

    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path, f"cannot read the public key: {exc}")]) from exc
    load_public_key(text, source=path)
    return text


def _same_key(a: str, b: str) -> bool:
    from deconflict.channel.audit_verify import load_public_key

    return load_public_key(a).public_bytes_raw() == load_public_key(b).public_bytes_raw()


def _pinned_key(pin: str, seen: str, source: str) -> str:
    """The key pinned in ``pin``; on first use ``seen`` is pinned there (trust on first use)."""
    if not Path(pin).exists():
        from deconflict.cli.party import write_new

        write_new(Path(pin), seen.encode("ascii"), 0o644)
        print(
            f"pinned the server key of {source} in {pin}: later verifications compare with it",
            file=sys.stderr,
        )
        return seen
    pinned = _read_key(pin)
    if not _same_key(pinned, seen):
        raise AuditError(
            f"{source}: the server key is not the one pinned in {pin}: "
            "the chain was re-signed with another key, or this is another server's"
        )
    return pinned


def _key_for(args: argparse.Namespace, seen: str | None, source: str) -> str:
    """The key to verify with: ``--key``, else ``--pin`` (pinning ``seen``), else ``seen`` where allowed."""
    if args.key is not None:
        return _read_key(args.key)
    if args.pin is not None:
        if seen is None:
            raise AuditError(f"{source}: no server public key to pin (no audit entry yet?)")
        return _pinned_key(args.pin, seen, source)
    if seen is None:
        raise InputError([Problem("command line", "give the server's public key", None, "--key")])
    return seen


def _checkpoints(paths: list[str]) -> list[tuple[str, Checkpoint]]:
    from deconflict.channel.audit import Checkpoint

    found = []
    for path in paths:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
            checkpoint = Checkpoint(
                int(raw["seq"]), str(raw["hash"]), float(raw["time_s"]), str(raw["signature"])
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError([Problem(path, f"not an audit checkpoint: {exc!r}")]) from exc
        found.append((path, checkpoint))
    return found


def _check_checkpoints(
    args: argparse.Namespace, items: list[AuditEntry] | list[AuditEntry | ChainLink], key: str
) -> str:
    from deconflict.channel.audit_verify import verify_checkpoints

    if not args.checkpoint:
        return ""
    count = verify_checkpoints(items, _checkpoints(args.checkpoint), key)
    return f"; {count} checkpoint{'s' if count != 1 else ''} contained"


def _verify_db(args: argparse.Namespace) -> str:
    # Imported here: building the parser must stay cheap (no cryptography, no database).
    from deconflict.channel.audit_state import verify_state
    from deconflict.channel.audit_verify import verify_chain, verify_messages, with_row_ids
    from deconflict.channel.service.conflicts import conflict_lifecycles
    from deconflict.cli.party import existing_settings_for
    from deconflict.storage import open_storage

    settings = existing_settings_for(args.db)
    if args.key is None and args.pin is None:
        raise InputError(
            [
                Problem(
                    "command line",
                    "give the server's public key from outside the database (`deconflict audit key` "
                    "writes it), or --pin FILE to pin it on first use: the key stored in the database "
                    "is replaced as easily as the chain",
                    None,
                    "--key",
                )
            ]
        )
    path = settings.db_path if settings.db_url is None else _database_name(settings.db_url.get_secret_value())
    with open_storage(settings) as storage:
        entries = storage.audit.entries()
        stored_key = storage.audit.stored_public_key()
        key = _key_for(args, stored_key, str(path))
        if args.key is not None and stored_key is not None and not _same_key(key, stored_key):
            raise AuditError(
                f"{path}: the server key stored in the database is not the one in {args.key}: "
                "the chain was re-signed with another key, or this is another server's database"
            )
        count = verify_chain(entries, key)
        checked = _check_checkpoints(args, entries, key)
        listed = storage.parties.list_parties()
        stored = [m for p in listed for m in storage.messages.list_messages(p.name, "outbox")]
        # Entries name objects as the parties see them; the store has rows.
        as_rows = with_row_ids(entries, storage.audit.public_ids, _public_ids_since_seq(storage, settings))
        signatures = verify_messages(stored, {p.name: p.public_key_pem for p in listed}, as_rows)
        operations = [(p.name, op) for p in listed for op in storage.operations.list_operations(p.name)]
        lifecycles = {
            lc.conflict_id: lc
            for p in listed
            for lc in conflict_lifecycles(storage.operations, storage.conflict_states, p.name)
        }
        objects = verify_state(as_rows, stored, operations, lifecycles.values())
    return (
        f"chain verified: {count} entries, {signatures} message signatures, "
        f"{objects} stored objects as logged{checked}"
    )


def _view_items(document: Any, source: str) -> list[AuditEntry | ChainLink]:
    from deconflict.channel.audit import AuditEntry, ChainLink, canonical_json

    try:
        items: list[AuditEntry | ChainLink] = []
        for raw in document["entries"]:
            if raw["visible"]:
                items.append(
                    AuditEntry(
                        seq=int(raw["seq"]),
                        time_s=float(raw["time_s"]),
                        actor=str(raw["actor"]),
                        kind=str(raw["kind"]),
                        subject_json=canonical_json(raw["subject"]),
                        audience_json=canonical_json(raw["audience"]),
                        payload_json=canonical_json(raw["payload"]),
                        prev_hash=str(raw["prev_hash"]),
                        hash=str(raw["hash"]),
                        signature=str(raw["signature"]),
                    )
                )
            else:
                items.append(ChainLink(int(raw["seq"]), str(raw["prev_hash"]), str(raw["hash"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError([Problem(source, f"not an audit export: {exc!r}")]) from exc
    return items


def _summary(items: list[AuditEntry | ChainLink], party: str) -> str:
    from deconflict.channel.audit import AuditEntry

    readable = sum(isinstance(i, AuditEntry) for i in items)
    return f"chain verified: {len(items)} entries ({readable} readable by {party}, the rest by their links)"


def _client(args: argparse.Namespace) -> Any:
    return client_from_args(args)


def _exported_messages(document: Any, source: str) -> list[Message]:
    from deconflict.channel.messages import Message, MessageContent

    try:
        return [
            Message(
                id=int(raw["id"]),
                content=MessageContent(
                    str(raw["from"]),
                    str(raw["to"]),
                    str(raw["code"]),
                    dict(raw["params"]),
                    str(raw["text"]),
                    None if raw["reply_by"] is None else str(raw["reply_by"]),
                    str(raw["nonce"]),
                ),
                signature=str(raw["signature"]),
                created_s=0.0,
            )
            for raw in document["messages"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError([Problem(source, f"not an audit export: messages: {exc!r}")]) from exc


def _verify_view(args: argparse.Namespace, document: Any, source: str, key: str) -> str:
    from deconflict.channel.audit import AuditEntry
    from deconflict.channel.audit_verify import verify_chain, verify_messages

    items = _view_items(document, source)
    verify_chain(items, key)
    checked = _check_checkpoints(args, items, key)
    summary = _summary(items, str(document.get("party", "the party")))
    if "messages" not in document:
        return summary + checked
    keys = document.get("public_keys")
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise InputError([Problem(source, "not an audit export: public_keys: expected {party: PEM}")])
    entries = [i for i in items if isinstance(i, AuditEntry)]
    signatures = verify_messages(_exported_messages(document, source), keys, entries)
    return f"{summary}; {signatures} message signatures{checked}"


def _export(args: argparse.Namespace) -> dict[str, Any]:
    """The party's view of the chain, its messages as signed, and every party's public key."""
    client = _client(args)
    # Messages first: fetching the inbox marks new ones delivered, and the
    # entries recording that are then part of the chain exported after.
    messages = {m["id"]: m for box in ("outbox", "inbox") for m in client.all_messages(box)}
    document = client.audit()
    document["messages"] = [messages[k] for k in sorted(messages)]
    document["public_keys"] = {p["name"]: p["public_key_pem"] for p in client.parties()}
    return dict(document)


def _verify(args: argparse.Namespace) -> str:
    if args.url is not None:
        client = _client(args)
        document = client.audit()
        # Without --key or --pin, the key the server gives: it checks the chain, not the server.
        key = _key_for(args, client.audit_key() if args.key is None else None, args.url)
        return _verify_view(args, document, args.url, key)
    if args.file is not None:
        try:
            document = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError([Problem(args.file, f"cannot read: {exc}")]) from exc
        if args.key is None:
            raise InputError(
                [Problem("command line", "give the server's public key (GET /v1/audit/key)", None, "--key")]
            )
        return _verify_view(args, document, args.file, _read_key(args.key))
    return _verify_db(args)


def _public_ids_since_seq(storage: Storage, settings: Settings) -> int:
    """The first audit entry naming objects by public id, in the database ``settings`` name."""
    if settings.db_url is None:
        from deconflict.storage.sqlite.public_ids import public_ids_since_seq

        return public_ids_since_seq(settings.db_path)
    from deconflict.storage.postgres.public_ids import public_ids_since_seq as in_postgres
    from deconflict.storage.postgres.storage import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    return in_postgres(storage.database)


def _database_name(url: str) -> str:
    """A PostgreSQL database's URL without its password, for messages."""
    from deconflict.storage.postgres.database import display_url

    return display_url(url)


def _server_key(args: argparse.Namespace) -> str:
    """The server's public key: from the private key file beside ``--db``, or from ``--url``."""
    if args.url is not None:
        return str(_client(args).audit_key())
    from deconflict.channel.audit import AuditSigner
    from deconflict.cli.party import existing_settings_for
    from deconflict.storage.sqlite.audit import audit_key_path

    settings = existing_settings_for(args.db)
    private = audit_key_path(settings.db_path) if settings.db_url is None else settings.audit_key_path
    if private is None:
        raise InputError(
            [Problem("settings", "the server's audit key file is not set", None, "DECONFLICT_AUDIT_KEY_PATH")]
        )
    try:
        data = private.read_bytes()
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc))
        raise InputError([Problem(str(private), f"cannot read the server's audit key: {reason}")]) from exc
    return AuditSigner(data, source=str(private)).public_key_pem


def _emit(args: argparse.Namespace, text: str, what: str) -> None:
    if args.out is None:
        sys.stdout.write(text)
        return
    from deconflict.cli.party import write_new

    write_new(Path(args.out), text.encode("utf-8"), 0o644, args.force)
    print(f"{what} written to {args.out}", file=sys.stderr)


def run_audit(args: argparse.Namespace) -> int:
    """Run ``deconflict audit ACTION``; bad input propagates to :func:`deconflict.cli.main`."""
    if args.audit_command == "export":
        print(json.dumps(_export(args), indent=2, ensure_ascii=False))
        return 0
    if args.audit_command == "key":
        _emit(args, _server_key(args), "the server's audit public key")
        return 0
    if args.audit_command == "checkpoint":
        head = _client(args).audit_head()
        _emit(args, json.dumps(head, indent=2) + "\n", f"checkpoint of entry {head['seq']}")
        return 0
    try:
        summary = _verify(args)
    except AuditError as exc:
        print(f"audit verify: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary)
    return 0
