"""The demo's channel service, embedded: served in a thread of this process on a socket bound first."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    import uvicorn

    from deconflict.client import ChannelClient

__all__ = ["listen", "party_clients", "server_url", "start_server", "stop_server"]

_STARTUP_S = 30.0


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(
            [Problem("--port", f"cannot listen on {host}:{port}: {exc.strerror or exc} (try --port 0)")]
        ) from exc
    sock.listen(128)
    return sock


def server_url(host: str, port: int) -> str:
    """The URL clients and people use: a wildcard address is reached on loopback."""
    reach = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{reach}]:{port}" if ":" in reach else f"http://{reach}:{port}"


def start_server(app: Any, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve ``app`` on ``sock`` in a thread (no signal handlers: the main thread keeps Ctrl-C)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise InputError([Problem("demo", "the channel service did not start (see the messages above)")])
        time.sleep(0.05)
    return server, thread


def stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=15.0)


def party_clients(url: str, parties: dict[str, dict[str, str]]) -> dict[str, ChannelClient]:
    """A client of the service at ``url`` for each party (``token`` and ``key_file`` of each)."""
    from deconflict.client import ChannelClient

    # The demo's own server, on an address of this machine (its --host): nothing crosses a network.
    return {
        name: ChannelClient(url, p["token"], private_key_pem=Path(p["key_file"]).read_bytes(), insecure=True)
        for name, p in parties.items()
    }
