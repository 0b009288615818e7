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

from deconflict.cli import main
from tests.builders import register_parties
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
    tokens, private_keys = register_parties(db, "blue", "red", "green", time_s=time.time())
    keys = {name: root / f"{name}.pem" for name in tokens}
    for name, path in keys.items():
        path.write_bytes(private_keys[name])
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
    assert "signature: does not verify with the registered public key of 'blue'" in capsys.readouterr().err
    assert main([*send, "--params", "[1]", "--text", "x"]) == 2
    assert "--params: must be a JSON object" in capsys.readouterr().err
    assert main(msg(server, "green", "ack", "1", "--level", "read")) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["msg", "inbox", "--url", server.url, "--token", "wrong"]) == 2
    assert "HTTP 401" in capsys.readouterr().err


def test_inbox_of_a_party_with_no_messages(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(msg(server, "green", "inbox")) == 0
    assert capsys.readouterr().out.strip() == "no messages in the inbox"


def test_an_export_verifies_messages_offline_and_pinpoints_an_altered_one(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(server.keys["green"])
    argv = msg(server, "green", "send", "--key", key, "--to", "blue", "--code", "FREE")
    sent = run_json(capsys, [*argv, "--text", "Holding west of the line."])
    assert isinstance(sent, dict)
    assert main(["audit", "export", "--url", server.url, f"--token={server.tokens['blue']}"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert sent["id"] in [m["id"] for m in document["messages"]]
    assert set(document["public_keys"]) == {"blue", "red", "green"}
    assert all("token" not in k for m in document["messages"] for k in m)
    export = tmp_path / "blue-export.json"
    export.write_text(json.dumps(document))
    server_key = tmp_path / "server.pem"
    server_key.write_text(document["public_key_pem"])
    verify = ["audit", "verify", "--file", str(export), "--key", str(server_key)]

    assert main(verify) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"; {len(document['messages'])} message signatures" in out

    # One word of the received message changed: its signature no longer verifies.
    for message in document["messages"]:
        if message["id"] == sent["id"]:
            message["text"] = "Holding east of the line."
    export.write_text(json.dumps(document))
    assert main(verify) == 1
    err = capsys.readouterr().err
    assert f"message {sent['id']} from 'green': signature does not verify" in err

    # The message dropped from the export: its message_sent entry names it missing.
    document["messages"] = [m for m in document["messages"] if m["id"] != sent["id"]]
    export.write_text(json.dumps(document))
    assert main(verify) == 1
    assert f"message {sent['id']} is missing" in capsys.readouterr().err
