"""A real ``deconflict serve`` for end-to-end tests, always stopped; calls to it; benchmarks driving one."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.cli.conftest import party_add, token_of

STARTUP_S = 30.0
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
_RUNNING = re.compile(r"running on (https?://127\.0\.0\.1:\d+)")


@contextmanager
def serve_process(
    db: Path | str, log: Path, env: dict[str, str] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start ``deconflict serve`` on 127.0.0.1 and an ephemeral port; yield the process and its URL.

    The server's log goes to a file, polled for the "running on" line: never a
    pipe that could fill up, and no mix of select() with buffered reads. A
    database that does not exist yet is created (``--init``): a test asks for it
    by naming a new file. A ``postgresql://`` URL (a string) is served as it is.
    """
    init = [] if isinstance(db, str) or db.exists() else ["--init"]
    command = [
        sys.executable,
        "-m",
        "deconflict",
        "serve",
        "--db",
        str(db),
        "--port",
        "0",
        *init,
        *extra_args,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=out, env=env or dict(os.environ)
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            text = log.read_text(errors="replace")
            match = _RUNNING.search(text)
            if match:
                break
            assert process.poll() is None, "server exited:\n" + text
            assert time.monotonic() < deadline, "server did not start:\n" + text
            time.sleep(0.05)
        yield process, match.group(1)
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a process the test started: SIGTERM, then SIGKILL if it is still there after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def register_party(db: Path | str, name: str, folder: Path) -> tuple[str, bytes]:
    """``deconflict party add NAME`` on ``db``: the token and the private key (written into ``folder``)."""
    key = folder / f"{name}.ed25519.pem"
    code, out, err = party_add(db, name, "--key-out", str(key))
    assert code == 0, err
    return token_of(out), key.read_bytes()


def ungated_env(*parties: str) -> dict[str, str]:
    """The environment for a server whose parties' aircraft show others at once and anywhere.

    For tests of what a page or a feed shows, not of the disclosure gates
    (tests/e2e/test_track_gating.py tries those).
    """
    return {
        **os.environ,
        "DECONFLICT_TRACKS_PROBATION_S": "0",
        "DECONFLICT_TRACKS_DISCLOSE_ANYWHERE": json.dumps(list(parties)),
    }


def call_api(url: str, token: str, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
    """One request as a party: the status, and the JSON body (the error text for a 4xx/5xx).

    An answer cut off mid-way (the server killed while answering) raises
    :class:`ConnectionError`, as a broken connection does: its outcome is unknown.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except http.client.HTTPException as exc:
        raise ConnectionError(f"{method} {path}: answer cut off ({exc!r})") from exc


def audit_key_file(db: Path) -> Path:
    """The server's audit public key of a database, kept beside it as ``deconflict audit key`` writes it.

    What a test verifies the chain with (``audit verify --db DB --key FILE``).
    """
    from deconflict.channel.audit import AuditSigner
    from deconflict.storage.sqlite.audit import audit_key_path

    out = db.with_name(db.name + ".pub.pem")
    out.write_text(AuditSigner(audit_key_path(db).read_bytes()).public_key_pem, encoding="ascii")
    return out


@dataclass
class Party:
    """A party registered with ``deconflict party add``: its token and private key."""

    name: str
    token: str
    key: bytes


def new_party(db: Path | str, folder: Path, name: str) -> Party:
    """:func:`register_party`, as a :class:`Party`."""
    token, key = register_party(db, name, folder)
    return Party(name, token, key)


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` imported by path (the folder is not a package), as ``NAME_benchmark``."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
