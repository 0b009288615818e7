"""``deconflict audit verify|export``: check the hash-chained audit log, on the database or offline.

``verify --db`` checks the whole chain (sequence, links, recomputed hashes,
server signatures) and re-verifies every stored message signature against its
sender's registered public key. ``verify --url`` and ``verify --file`` check a
party's view (entries it may not read only for their links); ``export`` writes
that view as JSON, with the party's messages (inbox and outbox, as signed) and
every party's public key, so that ``verify --file`` can check offline, with
only the server's public key, both the chain and each message's signature
against its ``message_sent`` entry.
Exit 0: verified; 1: verification failed (the first bad entry is named); 2: bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import add_insecure_argument
from deconflict.errors import AuditError, InputError, Problem

if TYPE_CHECKING:
    from deconflict.channel.audit import AuditEntry, ChainLink
    from deconflict.channel.messages import Message

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
        "--db", metavar="PATH", help="the server's SQLite database (default: DECONFLICT_DB_PATH)"
    )
    source.add_argument("--url", help="a server, e.g. http://127.0.0.1:8000 (with --token)")
    source.add_argument("--file", metavar="FILE", help="an export written by `deconflict audit export`")
    verify.add_argument("--token", help="the party's bearer token (default: DECONFLICT_TOKEN)")
    verify.add_argument("--key", metavar="PEM", help="the server's audit public key to verify with")
    add_insecure_argument(verify)
    export = actions.add_parser(
        "export",
        help="print the party's view of the chain, its messages and the parties' public keys as JSON",
    )
    export.add_argument("--url", required=True, help="the server")
    export.add_argument("--token", help="the party's bearer token (default: DECONFLICT_TOKEN)")
    add_insecure_argument(export)


def _read_key(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path, f"cannot read the public key: {exc}")]) from exc


def _verify_db(args: argparse.Namespace) -> str:
    # Imported here: building the parser must stay cheap (no cryptography, no database).
    from deconflict.channel.audit import verify_chain, verify_messages
    from deconflict.cli.party import settings_for
    from deconflict.storage import SQLiteAuditLog, SQLiteMessageStore, SQLitePartyStore

    path = settings_for(args.db).db_path
    if not path.is_file():
        raise InputError([Problem(str(path), "no such database file")])
    with SQLiteAuditLog(path) as log:
        entries = log.entries()
        stored_key = log.stored_public_key()
    key = _read_key(args.key) if args.key is not None else stored_key
    if key is None:
        if entries:
            raise AuditError("the database holds entries but no server public key: give --key")
        key = ""
    count = verify_chain(entries, key) if entries else 0
    with SQLitePartyStore(path) as parties, SQLiteMessageStore(path) as messages:
        listed = parties.list_parties()
        stored = [m for p in listed for m in messages.list_messages(p.name, "outbox")]
    signatures = verify_messages(stored, {p.name: p.public_key_pem for p in listed}, entries)
    return f"chain verified: {count} entries, {signatures} message signatures"


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
    token = args.token or os.environ.get("DECONFLICT_TOKEN")
    if not token:
        raise InputError([Problem("command line", "give --token or set DECONFLICT_TOKEN", None, "--token")])
    from deconflict.client import ChannelClient

    return ChannelClient(args.url, token, insecure=args.insecure)


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


def _verify_view(document: Any, source: str, key: str) -> str:
    from deconflict.channel.audit import AuditEntry, verify_chain, verify_messages

    items = _view_items(document, source)
    verify_chain(items, key)
    summary = _summary(items, str(document.get("party", "the party")))
    if "messages" not in document:
        return summary
    keys = document.get("public_keys")
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise InputError([Problem(source, "not an audit export: public_keys: expected {party: PEM}")])
    entries = [i for i in items if isinstance(i, AuditEntry)]
    signatures = verify_messages(_exported_messages(document, source), keys, entries)
    return f"{summary}; {signatures} message signatures"


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
        key = _read_key(args.key) if args.key is not None else client.audit_key()
        return _verify_view(document, args.url, key)
    if args.file is not None:
        try:
            document = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError([Problem(args.file, f"cannot read: {exc}")]) from exc
        if args.key is None:
            raise InputError(
                [Problem("command line", "give the server's public key (GET /v1/audit/key)", None, "--key")]
            )
        return _verify_view(document, args.file, _read_key(args.key))
    return _verify_db(args)


def run_audit(args: argparse.Namespace) -> int:
    """Run ``deconflict audit ACTION``; bad input propagates to :func:`deconflict.cli.main`."""
    if args.audit_command == "export":
        print(json.dumps(_export(args), indent=2, ensure_ascii=False))
        return 0
    try:
        summary = _verify(args)
    except AuditError as exc:
        print(f"audit verify: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary)
    return 0
