"""``deconflict msg send|inbox|ack`` against a real ``deconflict serve`` process on 127.0.0.1.

One server for the module, on an ephemeral port, always stopped at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deconflict.channel.parties import register_party
from deconflict.cli import main
from deconflict.storage import SQLitePartyStore
from tests.servers import serve_process

STARTUP_S = 30.0
REPLY_BY = "2099-01-01T00:00:00Z"


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    keys: dict[str, Path]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("msg")
    db = root / "channel.db"
    tokens, keys = {}, {}
    with SQLitePartyStore(db) as parties:
        for name in ("blue", "red", "green"):
            registration = register_party(parties, name, None, time.time())
            assert registration.private_key_pem is not None
            keys[name] = root / f"{name}.pem"
            keys[name].write_bytes(registration.private_key_pem)
            tokens[name] = registration.token
    with serve_process(db, root / "serve.log") as (_, url):
        yield Server(url, tokens, keys)


def msg(server: Server, party: str, *args: str) -> list[str]:
    return ["msg", *args, "--url", server.url, f"--token={server.tokens[party]}"]


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_send_inbox_ack_round_trip(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    key = str(server.keys["blue"])
    params = '{"operation": "op-17", "version": 2}'
    argv = msg(
        server, "blue", "send", "--key", key, "--to", "red", "--code", "AMENDMENT_DONE", "--params", params
    )
    sent = run_json(capsys, [*argv, "--text", "See v2.", "--reply-by", REPLY_BY])
    assert isinstance(sent, dict)
    assert (sent["from"], sent["to"], sent["state"], sent["reply_by"]) == ("blue", "red", "sent", REPLY_BY)

    assert main([*msg(server, "red", "inbox"), "--lang", "ru"]) == 0
    table = capsys.readouterr().out
    assert f"#{sent['id']} " in table and "blue -> red [delivered]" in table
    assert "Изменение внесено: В операцию op-17 внесены изменения (версия 2).\n  See v2." in table

    acked = run_json(
        capsys, msg(server, "red", "ack", str(sent["id"]), "--level", "disputed", "--reason", "wrong")
    )
    assert isinstance(acked, dict) and (acked["state"], acked["reason"]) == ("disputed", "wrong")
    outbox = run_json(capsys, [*msg(server, "blue", "inbox"), "--outbox", "--state", "disputed"])
    assert isinstance(outbox, list) and [m["id"] for m in outbox] == [sent["id"]]


def test_errors_are_reported_on_stderr_with_exit_2(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    send = msg(server, "blue", "send", "--key", str(server.keys["blue"]), "--to", "red", "--code", "FREE")
    assert main([*send, "--text", ""]) == 2
    assert "text: a FREE message needs a non-empty text" in capsys.readouterr().err
    # Green's key with blue's token: the server refuses the signature.
    forged = msg(server, "blue", "send", "--key", str(server.keys["green"]), "--to", "red", "--code", "FREE")
    assert main([*forged, "--text", "hi"]) == 2
    assert "signature: does not verify with 'blue'" in capsys.readouterr().err
    assert main([*send, "--params", "[1]", "--text", "x"]) == 2
    assert "--params: must be a JSON object" in capsys.readouterr().err
    assert main(msg(server, "green", "ack", "1", "--level", "read")) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["msg", "inbox", "--url", server.url, "--token", "wrong"]) == 2
    assert "HTTP 401" in capsys.readouterr().err


def test_inbox_of_a_party_with_no_messages(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(msg(server, "green", "inbox")) == 0
    assert capsys.readouterr().out.strip() == "no messages in the inbox"
