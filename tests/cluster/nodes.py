"""``deconflict serve`` nodes of one cluster for tests, and ``/v1/events`` sockets read by a thread.

:func:`node_processes` starts nodes sharing one database and a NATS cluster's relay;
:func:`events_socket` opens a party's events socket (optionally resuming after an event
id) whose frames a thread collects into a :class:`Socket`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websocket_connect

from tests.cluster.servers import NatsCluster
from tests.servers import Party, serve_process

WAIT_S = 20.0


@dataclass
class Socket:
    """A ``/v1/events`` socket read by a thread: the frames received, each with when it came."""

    ws: ClientConnection
    frames: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [f for _, f in self.frames if f["type"] == "message"]

    def texts(self) -> list[str]:
        return [str(f["message"]["text"]) for f in self.messages()]

    def wait_for(self, count: int, timeout_s: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.messages()) < count:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, f"{len(self.messages())} of {count} messages pushed"
            time.sleep(0.01)


def _read(socket: Socket) -> None:
    while not socket.stop.is_set():
        try:
            frame = json.loads(socket.ws.recv(timeout=0.1))
        except TimeoutError:
            continue
        except Exception as exc:
            if not socket.stop.is_set():
                with socket.lock:
                    socket.errors.append(repr(exc))
            return
        with socket.lock:
            socket.frames.append((time.perf_counter(), frame))


@contextlib.contextmanager
def events_socket(url: str, party: Party, last_event_id: int | None = None) -> Iterator[Socket]:
    headers = {"Authorization": f"Bearer {party.token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    with websocket_connect(
        url.replace("http", "ws", 1) + "/v1/events", additional_headers=headers, open_timeout=WAIT_S
    ) as ws:
        assert json.loads(ws.recv(timeout=WAIT_S)) == {"type": "ready", "party": party.name}
        socket = Socket(ws)
        reader = threading.Thread(target=_read, args=(socket,), daemon=True)
        reader.start()
        try:
            yield socket
        finally:
            socket.stop.set()
            reader.join(timeout=WAIT_S)


def node_env(cluster: NatsCluster) -> dict[str, str]:
    """A node's environment: this one's, the relay to ``cluster``, no limit on messages a test sends."""
    return {
        **os.environ,
        "DECONFLICT_MESSAGES_PER_MINUTE": "100000",
        "DECONFLICT_NATS_URL": ",".join(cluster.urls),
    }


@contextlib.contextmanager
def node_processes(
    db: str, tmp_path: Path, cluster: NatsCluster, count: int
) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    """``count`` nodes serving ``db`` with the relay to ``cluster``: each node's process and URL."""
    env = node_env(cluster)
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(serve_process(db, tmp_path / f"node-{n + 1}.log", env=env))
            for n in range(count)
        ]


@contextlib.contextmanager
def nodes(db: str, tmp_path: Path, cluster: NatsCluster, count: int) -> Iterator[list[str]]:
    """``count`` nodes serving ``db`` with the relay to ``cluster``: their URLs."""
    with node_processes(db, tmp_path, cluster, count) as started:
        yield [url for _, url in started]
