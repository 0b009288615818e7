"""Hotline benchmark: durable messages/s through a real server, and send-to-WebSocket delivery latency.

Starts ``deconflict serve`` on 127.0.0.1 (an ephemeral port, a temporary
database), registers two parties, connects the recipient's ``/v1/events``
WebSocket, then ``--senders`` concurrent senders POST signed messages (signed
with the sender's Ed25519 key, as the client does) until ``--messages`` have
been sent or ``--seconds`` have passed. Every 201 means the message is durably
committed (SQLite WAL, ``synchronous=FULL``). With ``--via socket`` blue
sends the same signed messages as ``send`` frames on its own ``/v1/events``
WebSocket instead (at most ``--window`` unanswered); each ``sent`` answer means the same.

Measured: ``messages_per_s``, the 201 answers per second over the sending
phase; ``delivery_p50_ms`` / ``delivery_p99_ms``, from just before the POST to
the frame arriving on the recipient's WebSocket; ``errors``, failed sends plus
messages never delivered. Targets (issue 5): >= 1000 messages/s, p99 < 50 ms.
The server is always stopped, whatever happens.

Usage::

    python benchmarks/channel.py --messages 2000 --seconds 60 --senders 8
    python benchmarks/channel.py --messages 5000 --seconds 60 --via socket

To profile the server, set ``DECONFLICT_BENCH_WRAP`` to a command that runs
the server's command line given after it, e.g.
``DECONFLICT_BENCH_WRAP="py-spy record -o server.txt -f raw --"``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

from deconflict.channel.messages import MessageContent, sign_content
from deconflict.channel.parties import register_party
from deconflict.storage import open_storage

STARTUP_S = 30.0
DRAIN_S = 10.0
TARGET_MESSAGES_PER_S = 1000.0
TARGET_P99_MS = 50.0
SOCKET_WINDOW = 32
"""Messages a WebSocket sender has sent and not yet seen answered, at most."""


@dataclass
class Tally:
    """What the senders and the receiver saw, keyed by nonce (perf_counter seconds)."""

    sent_at: dict[str, float] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    delivered_at: dict[str, float] = field(default_factory=dict)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _server_env() -> dict[str, str]:
    """The environment, with the per-party message rate lifted: this measures throughput, not policy."""
    return {"DECONFLICT_MESSAGES_PER_MINUTE": "100000000", **os.environ}


class Server:
    """``deconflict serve`` in a subprocess; its log is read continuously so it never blocks on a pipe."""

    def __init__(self, db: Path, extra_args: list[str]) -> None:
        command = [
            sys.executable,
            "-m",
            "deconflict",
            "serve",
            "--db",
            str(db),
            "--init",
            "--port",
            "0",
            *extra_args,
        ]
        wrapper = os.environ.get("DECONFLICT_BENCH_WRAP")  # e.g. "py-spy record -o prof.txt -f raw --"
        if wrapper:
            command = [*wrapper.split(), *command]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_server_env()
        )
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self._started = threading.Event()
        self._port: int | None = None
        # One reader from the start: select() on a buffered pipe can miss lines
        # already read into the buffer, and a full pipe would block the server.
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        try:
            self.port = self._wait_for_port()
        except BaseException:
            self.stop()
            raise

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + STARTUP_S
        while not self._started.wait(timeout=0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + "".join(self.log))
        assert self._port is not None
        return self._port

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if self._port is None:
                match = re.search(r"running on http://127\.0\.0\.1:(\d+)", line)
                if match:
                    self._port = int(match.group(1))
                    self._started.set()

    def stop(self) -> None:
        """Interrupt the server, as Ctrl-C would (kill it if it does not stop within 10 s)."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=10)  # it ends at the pipe's end, which the server's exit brings
        if self.process.stderr is not None:
            self.process.stderr.close()


def signed_message(nonce: str, key_pem: bytes) -> dict[str, Any]:
    """A message from blue to red, signed with blue's key: the body of a POST, or of a ``send`` frame."""
    content = MessageContent("blue", "red", "FREE", {}, f"benchmark message {nonce}", None, nonce)
    return {
        "to": "red",
        "code": "FREE",
        "params": {},
        "text": content.text,
        "reply_by": None,
        "nonce": nonce,
        "signature": sign_content(content, key_pem),
    }


def sender(
    port: int,
    token: str,
    key_pem: bytes,
    nonces: itertools.count[int],
    budget: threading.Semaphore,
    stop_at: float,
    tally: Tally,
    worker: int,
) -> None:
    """Send signed messages from blue to red on one keep-alive connection until budget or time runs out."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        while time.perf_counter() < stop_at and budget.acquire(blocking=False):
            nonce = f"bench-{worker:03d}-{next(nonces):09d}"
            data = json.dumps(signed_message(nonce, key_pem)).encode()
            started = time.perf_counter()
            with tally.lock:
                tally.sent_at[nonce] = started
            try:
                connection.request("POST", "/v1/messages", body=data, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                with tally.lock:
                    tally.errors[type(exc).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            answered = time.perf_counter()
            with tally.lock:
                if response.status == 201:
                    tally.answered_at[nonce] = answered
                else:
                    tally.errors[f"HTTP {response.status}"] += 1
    finally:
        connection.close()


async def socket_sender(
    port: int,
    token: str,
    key_pem: bytes,
    budget: int,
    stop_at: float,
    tally: Tally,
    window: int,
) -> None:
    """Send signed messages from blue to red as ``send`` frames on blue's WebSocket.

    At most ``window`` are sent and not yet answered.

    A ``sent`` answer means the message is durably committed, as a 201 does.
    """
    url = f"ws://127.0.0.1:{port}/v1/events"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None) as ws:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "ready":
            raise RuntimeError(f"unexpected first frame {hello!r}")
        slots = asyncio.Semaphore(window)
        outstanding = 0

        async def send_all() -> None:
            nonlocal outstanding
            for number in range(budget):
                if time.perf_counter() >= stop_at:
                    return
                await slots.acquire()
                nonce = f"bench-socket-{number:09d}"
                frame = json.dumps({"type": "send", "ref": nonce, "message": signed_message(nonce, key_pem)})
                with tally.lock:
                    tally.sent_at[nonce] = time.perf_counter()
                outstanding += 1
                await ws.send(frame)

        sending = asyncio.create_task(send_all())
        while not (sending.done() and outstanding == 0):
            try:
                frame = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                if time.perf_counter() > stop_at + DRAIN_S:
                    break
                continue
            answer = json.loads(frame)
            if answer.get("type") not in ("sent", "refused"):
                continue
            outstanding -= 1
            slots.release()
            with tally.lock:
                if answer["type"] == "sent":
                    tally.answered_at[answer["ref"]] = time.perf_counter()
                else:
                    tally.errors[f"refused {answer.get('status')}"] += 1
        await sending


async def receive(port: int, token: str, tally: Tally, ready: threading.Event, done: threading.Event) -> None:
    """Record when each message reaches red's WebSocket, until the senders finish and all have arrived."""
    url = f"ws://127.0.0.1:{port}/v1/events"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None) as ws:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "ready":
            raise RuntimeError(f"unexpected first frame {hello!r}")
        ready.set()
        drain_until: float | None = None
        while True:
            if done.is_set():
                with tally.lock:
                    missing = len(tally.answered_at.keys() - tally.delivered_at.keys())
                if missing == 0:
                    return
                drain_until = drain_until or time.perf_counter() + DRAIN_S
                if time.perf_counter() > drain_until:
                    return
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            arrived = time.perf_counter()
            event = json.loads(frame)
            if event.get("type") == "message":
                with tally.lock:
                    tally.delivered_at.setdefault(event["message"]["nonce"], arrived)


def register(db: Path, root: Path) -> dict[str, tuple[str, bytes]]:
    """Register blue and red on the server's database: token and private key of each."""
    found = {}
    with open_storage(db) as storage:
        parties = storage.parties
        for name in ("blue", "red"):
            registration = register_party(parties, name, None, time.time())
            assert registration.private_key_pem is not None
            (root / f"{name}.pem").write_bytes(registration.private_key_pem)
            found[name] = (registration.token, registration.private_key_pem)
    return found


def run(
    messages: int,
    seconds: float,
    senders: int,
    server_args: list[str],
    via: str = "post",
    window: int = SOCKET_WINDOW,
) -> dict[str, Any]:
    """Run the benchmark once and return its figures (``via``: ``post`` or ``socket``)."""
    with tempfile.TemporaryDirectory(prefix="deconflict-bench-") as tmp:
        root = Path(tmp)
        db = root / "channel.db"
        parties = register(db, root)
        server = Server(db, server_args)
        tally = Tally()
        try:
            ready, done = threading.Event(), threading.Event()
            receiver = threading.Thread(
                target=asyncio.run, args=(receive(server.port, parties["red"][0], tally, ready, done),)
            )
            receiver.start()
            try:
                if not ready.wait(STARTUP_S):
                    raise RuntimeError("the recipient's WebSocket did not connect")
                started = time.perf_counter()
                stop_at = started + seconds
                if via == "socket":
                    asyncio.run(
                        socket_sender(server.port, *parties["blue"], messages, stop_at, tally, window)
                    )
                else:
                    budget = threading.Semaphore(messages)
                    nonces = itertools.count()
                    workers = [
                        threading.Thread(
                            target=sender,
                            args=(server.port, *parties["blue"], nonces, budget, stop_at, tally, i),
                        )
                        for i in range(senders)
                    ]
                    for worker in workers:
                        worker.start()
                    for worker in workers:
                        worker.join()
            finally:
                done.set()
                receiver.join()
        finally:
            server.stop()
    answered = sorted(tally.answered_at.values())
    elapsed_s = (answered[-1] - started) if answered else float("nan")
    latencies_ms = np.array(
        [
            (tally.delivered_at[n] - tally.sent_at[n]) * 1000.0
            for n in tally.answered_at
            if n in tally.delivered_at
        ]
    )
    round_trip_ms = np.array([(tally.answered_at[n] - tally.sent_at[n]) * 1000.0 for n in tally.answered_at])
    undelivered = len(tally.answered_at.keys() - tally.delivered_at.keys())
    rate = len(answered) / elapsed_s if answered else 0.0

    def pct(values: np.ndarray, q: float) -> float | None:
        return round(float(np.percentile(values, q)), 2) if values.size else None

    p99 = pct(latencies_ms, 99)
    return {
        "benchmark": "channel",
        "via": via,
        "messages": len(answered),
        "senders": senders if via == "post" else 1,
        "window": window if via == "socket" else None,
        "seconds": round(elapsed_s, 3),
        "messages_per_s": round(rate, 1),
        "delivery_p50_ms": pct(latencies_ms, 50),
        "delivery_p99_ms": p99,
        "send_p50_ms": pct(round_trip_ms, 50),
        "send_p99_ms": pct(round_trip_ms, 99),
        "errors": sum(tally.errors.values()) + undelivered,
        "error_kinds": dict(tally.errors) | ({"undelivered": undelivered} if undelivered else {}),
        "target_messages_per_s": TARGET_MESSAGES_PER_S,
        "target_delivery_p99_ms": TARGET_P99_MS,
        "rate_vs_target": round(rate / TARGET_MESSAGES_PER_S, 3),
        "p99_vs_target": None if p99 is None else round(p99 / TARGET_P99_MS, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print one JSON document; 0 unless the run failed outright."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2000, help="messages to send at most")
    parser.add_argument("--seconds", type=float, default=60.0, help="time to send for at most")
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders (keep-alive connections)")
    parser.add_argument(
        "--via",
        choices=("post", "socket"),
        default="post",
        help="POST /v1/messages from --senders connections, or send frames on one WebSocket (default post)",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=SOCKET_WINDOW,
        help=f"with --via socket: messages sent and not yet answered, at most (default {SOCKET_WINDOW})",
    )
    args = parser.parse_args(argv)
    if args.messages < 1 or args.seconds <= 0 or args.senders < 1 or args.window < 1:
        parser.error("--messages, --seconds, --senders and --window must be positive")
    figures = run(args.messages, args.seconds, args.senders, [], args.via, args.window)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
