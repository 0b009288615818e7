"""``deconflict serve --tls-cert/--tls-key``: HTTPS from uvicorn; never plain HTTP to other machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.client import ChannelClient
from tests.servers import register_party, serve_process
from tests.tls import ServerCertificate, make_server_certificate


@pytest.fixture
def certificate(tmp_path: Path) -> ServerCertificate:
    return make_server_certificate(tmp_path / "tls")


def test_serve_with_a_certificate_answers_https_to_a_client_that_trusts_its_authority(
    tmp_path: Path,
    certificate: ServerCertificate,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "channel.db"
    token, _ = register_party(db, "blue", tmp_path)
    tls = ["--tls-cert", str(certificate.cert), "--tls-key", str(certificate.key)]
    with serve_process(db, tmp_path / "serve.log", extra_args=tls) as (_, url):
        assert url.startswith("https://127.0.0.1:")
        # A private authority is trusted the OpenSSL way, as an operator would.
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_cert))
        assert ChannelClient(url, token).me()["name"] == "blue"
        assert main(["ops", "list", "--url", url, "--token", token, "--json"]) == 0
        assert capsys.readouterr().out.strip() == "[]"
        # Without the authority the certificate is refused, never silently accepted.
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
        assert main(["ops", "list", "--url", url, "--token", token]) == 2
        assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn's run, recorded instead of serving: the checks happen before it is called."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    return calls


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--host", "0.0.0.0"], "command line: --host: '0.0.0.0' is reachable from other machines"),
        (["--host", "192.0.2.10"], "bearer tokens would cross the network in clear text"),
        (["--host", "::"], "give --tls-cert and --tls-key, or --behind-proxy"),
        (["--tls-cert", "{cert}"], "command line: --tls-key: give both --tls-cert and --tls-key"),
        (["--tls-key", "{key}"], "command line: --tls-cert: give both --tls-cert and --tls-key"),
        (["--tls-cert", "{tmp}/nosuch.pem", "--tls-key", "{key}"], "nosuch.pem: --tls-cert: no such file"),
        (["--tls-cert", "{key}", "--tls-key", "{cert}"], "not a PEM certificate and its private key"),
        (["--tls-cert", "{ca}", "--tls-key", "{key}"], "not a PEM certificate and its private key"),
    ],
)
def test_serve_refuses_plain_http_to_other_machines_and_bad_tls_files(
    argv: list[str],
    expected: str,
    tmp_path: Path,
    certificate: ServerCertificate,
    no_server: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = {"cert": certificate.cert, "key": certificate.key, "ca": certificate.ca_cert, "tmp": tmp_path}
    argv = [arg.format(**paths) for arg in argv]
    assert main(["serve", "--db", str(tmp_path / "c.db"), *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert no_server == []


def test_serve_passes_the_certificate_to_uvicorn_and_allows_any_address_with_it(
    tmp_path: Path, certificate: ServerCertificate, no_server: list[dict[str, Any]]
) -> None:
    tls = ["--tls-cert", str(certificate.cert), "--tls-key", str(certificate.key)]
    assert main(["serve", "--db", str(tmp_path / "c.db"), "--init", "--host", "0.0.0.0", *tls]) == 0
    (options,) = no_server
    assert (options["host"], options["ssl_certfile"], options["ssl_keyfile"]) == (
        "0.0.0.0",
        str(certificate.cert),
        str(certificate.key),
    )


def test_serve_behind_a_proxy_may_listen_on_any_address_in_plain_http(
    tmp_path: Path, no_server: list[dict[str, Any]]
) -> None:
    assert (
        main(["serve", "--db", str(tmp_path / "c.db"), "--init", "--host", "0.0.0.0", "--behind-proxy"]) == 0
    )
    (options,) = no_server
    assert (options["host"], options["ssl_certfile"]) == ("0.0.0.0", None)
