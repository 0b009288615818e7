"""``deconflict msg send|inbox|ack``: the hotline from the command line, through a server URL."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deconflict.cli.ops import add_common_arguments, client_from_args
from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.client import ChannelClient

__all__ = ["add_msg_parser", "run_msg"]


def add_msg_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``msg`` and its actions to the ``deconflict`` parser."""
    msg = sub.add_parser(
        "msg",
        help="send, list and acknowledge hotline messages on a channel server",
        description="Talks to a channel server with the party's token; messages are signed with its key.",
    )
    actions = msg.add_subparsers(dest="msg_command", required=True, metavar="ACTION")

    def common(parser: argparse.ArgumentParser) -> None:
        add_common_arguments(parser)
        parser.add_argument("--lang", choices=("en", "ru"), help="language of rendered texts")

    send = actions.add_parser("send", help="sign and send a message")
    common(send)
    send.add_argument("--key", required=True, metavar="FILE", help="the party's Ed25519 private key (PEM)")
    send.add_argument("--to", required=True, metavar="PARTY", help="the recipient")
    send.add_argument("--code", required=True, help="a catalogue code, e.g. REQUEST_CLARIFICATION or FREE")
    send.add_argument("--params", default="{}", metavar="JSON", help="the code's parameters as a JSON object")
    send.add_argument("--text", default="", help="free text")
    send.add_argument("--reply-by", metavar="TIME", help="RFC 3339 reply deadline, e.g. 2026-01-01T12:30:00Z")

    inbox = actions.add_parser("inbox", help="list received messages (marks them delivered)")
    common(inbox)
    inbox.add_argument("--state", choices=("sent", "delivered", "read", "accepted", "disputed"))
    inbox.add_argument("--outbox", action="store_true", help="list sent messages instead")

    ack = actions.add_parser("ack", help="acknowledge a received message")
    common(ack)
    ack.add_argument("id", type=int, metavar="ID", help="the message id")
    ack.add_argument("--level", required=True, choices=("read", "accepted", "disputed"))
    ack.add_argument("--reason", help="why (required for disputed)")


def _client(args: argparse.Namespace, key: bytes | None = None) -> ChannelClient:
    return client_from_args(args, private_key_pem=key)


def _line(message: dict[str, Any]) -> str:
    flags = " OVERDUE" if message["overdue"] else ""
    reply_by = f" reply by {message['reply_by']}" if message["reply_by"] else ""
    route = f"{message['from']} -> {message['to']}"
    head = f"#{message['id']} {message['created']} {route} [{message['state']}{flags}]{reply_by}"
    rendered = str(message["rendered"]).replace("\n", "\n  ")
    return f"{head}\n  {message['title']}: {rendered}"


def _send(args: argparse.Namespace) -> dict[str, Any]:
    try:
        key = Path(args.key).read_bytes()
    except OSError as exc:
        raise InputError([Problem(args.key, f"cannot read: {exc.strerror or exc}")]) from exc
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise InputError([Problem("command line", f"not JSON: {exc}", None, "--params")]) from exc
    if not isinstance(params, dict):
        raise InputError([Problem("command line", "must be a JSON object", None, "--params")])
    return _client(args, key).send(args.to, args.code, params, args.text, args.reply_by, args.lang)


def run_msg(args: argparse.Namespace) -> int:
    """Run ``deconflict msg ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    document: Any
    if args.msg_command == "send":
        document = _send(args)
        text = f"sent {_line(document)}"
    elif args.msg_command == "inbox":
        box = "outbox" if args.outbox else "inbox"
        document = _client(args).messages(box, args.state, lang=args.lang)
        text = "\n".join(_line(m) for m in document) if document else f"no messages in the {box}"
    else:
        document = _client(args).ack(args.id, args.level, args.reason, args.lang)
        text = _line(document)
    print(json.dumps(document, indent=2, ensure_ascii=False) if args.json else text)
    return 0
