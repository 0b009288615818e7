"""Commands that send a bearer token refuse plain ``http://`` to another machine unless ``--insecure``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from deconflict.cli import _parser, main
from deconflict.cli.ops import client_from_args
from deconflict.client import ChannelClient, check_url
from deconflict.errors import InputError

REMOTE = "http://192.0.2.10:8000"
"""A plain-HTTP URL of another machine (TEST-NET-1: nothing ever answers there)."""


def _commands(tmp_path: Path) -> list[list[str]]:
    tracks = tmp_path / "t.csv"
    tracks.write_text("time_s,id,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n0,a,45,10,3000,100,90,0\n")
    token = ["--token", "t"]
    return [
        ["ops", "list", "--url", REMOTE, *token],
        ["conflicts", "list", "--url", REMOTE, *token],
        ["stats", "--url", REMOTE, *token],
        ["msg", "inbox", "--url", REMOTE, *token],
        ["audit", "export", "--url", REMOTE, *token],
        ["audit", "verify", "--url", REMOTE, *token],
        ["feed", str(tracks), "--url", REMOTE, *token],
    ]


@pytest.mark.parametrize("index", range(7))
def test_every_remote_command_refuses_plain_http_to_another_machine(
    index: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _commands(tmp_path)[index]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {REMOTE}: plain http:// to another machine would send the bearer token")
    assert "--insecure" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("index", range(7))
def test_every_remote_command_takes_insecure(index: int, tmp_path: Path) -> None:
    args = _parser().parse_args([*_commands(tmp_path)[index], "--insecure"])
    assert args.insecure is True


def test_insecure_lets_the_client_use_plain_http_to_another_machine() -> None:
    args = argparse.Namespace(url=REMOTE, token="t", insecure=True)
    assert client_from_args(args).url == REMOTE
    with pytest.raises(InputError, match="clear text"):
        client_from_args(argparse.Namespace(url=REMOTE, token="t", insecure=False))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.1.2.3:8000/",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://channel.example.org",
        "https://192.0.2.10:8443",
    ],
)
def test_https_and_loopback_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url
    assert ChannelClient(url, "t").url == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://channel.example.org", "clear text"),
        ("http://0.0.0.0:8000", "clear text"),
        ("http://127.0.0.1.example.org", "clear text"),
        ("ftp://127.0.0.1/x", "not a service URL"),
        ("127.0.0.1:8000", "not a service URL"),
        ("file:///etc/passwd", "not a service URL"),
    ],
)
def test_other_urls_are_refused_by_the_client(url: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        ChannelClient(url, "t")


def test_the_demo_talks_to_its_own_server_on_whatever_address_it_bound(tmp_path: Path) -> None:
    from deconflict.channel.keys import generate_key_pair
    from deconflict.demo.server import party_clients

    key = tmp_path / "blue.pem"
    key.write_bytes(generate_key_pair()[0])
    clients = party_clients(REMOTE, {"blue": {"token": "t", "key_file": str(key)}})
    assert clients["blue"].url == REMOTE
