"""The live BaseStation source against a receiver the test plays on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from deconflict.errors import InputError
from deconflict.feeds.live import SbsSource, parse_source

NOW = "2024/05/01"


def _lines(ident: str, second: int) -> bytes:
    clock = f"12:00:{second:02d}.000"
    stamp = f"{NOW},{clock},{NOW},{clock}"
    return (
        f"MSG,4,1,1,{ident},1,{stamp},,,450,90.0,,,0,,,,,0\r\n"
        f"MSG,3,1,1,{ident},1,{stamp},,35000,,,48.5,2.{second:02d},,,0,0,0,0\r\n"
    ).encode()


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


class Receiver:
    """Plays a receiver: each accepted connection gets the next script's bytes, then is closed."""

    def __init__(self, scripts: list[bytes]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10.0)
        self.port = self.server.getsockname()[1]
        self.scripts = scripts
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.sendall(script)
        self.server.close()

    def close(self) -> None:
        self.server.close()
        self.thread.join(5.0)


def test_states_from_a_source_that_drops_and_comes_back_with_garbage_between_lines() -> None:
    first = _lines("4CA2D6", 1) + b"\x00\xff garbage \xfe\n" + _lines("4CA2D7", 1) + b"MSG,3,1\n"
    second = b"partial line without end" + b"\n" + _lines("4CA2D6", 5) + b"X" * 5000 + b"\n"
    receiver = Receiver([first, second])
    now_s = 1714564805.0
    try:
        with SbsSource("127.0.0.1", receiver.port, initial_backoff_s=0.05, max_backoff_s=0.2) as source:
            assert _wait(lambda: source.counts().connects >= 2 and source.counts().states >= 3)
            states = {s.id: s for s in source.take(now_s, stale_s=30.0)}
            counts = source.counts()
    finally:
        receiver.close()
    assert set(states) == {"4ca2d6", "4ca2d7"}
    assert states["4ca2d6"].time_s == now_s  # the second connection's newer state won
    assert states["4ca2d6"].lon_deg == pytest.approx(2.05)
    assert counts.superseded == 1
    assert counts.dropped == {"garbage": 3, "truncated": 1}
    assert counts.failures >= 1


def test_stale_states_are_dropped_and_counted() -> None:
    receiver = Receiver([_lines("4CA2D6", 1)])
    try:
        with SbsSource("127.0.0.1", receiver.port, initial_backoff_s=0.05) as source:
            assert _wait(lambda: source.counts().states == 1)
            assert source.take(1714564801.0 + 60.0, stale_s=20.0) == []
            assert source.counts().stale == 1
    finally:
        receiver.close()


def test_a_source_that_refuses_is_retried_with_back_off_without_blocking() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    started = time.monotonic()
    source = SbsSource("127.0.0.1", port, initial_backoff_s=0.05, max_backoff_s=0.1).start()
    assert time.monotonic() - started < 0.5  # start never waits for the receiver
    assert _wait(lambda: source.counts().failures >= 3)
    source.stop()
    assert source.take(0.0, 1.0) == []


def test_source_urls() -> None:
    assert parse_source("sbs://localhost:30003") == ("localhost", 30003)
    assert parse_source("beast://localhost:30005") == ("localhost", 30005)
    assert parse_source("asterix+udp://localhost:8600") == ("localhost", 8600)
    for bad in ("asterix://h:8600", "asterix+tcp://h:8600", "sbs://h", "sbs://:30003", "sbs://h:port"):
        with pytest.raises(InputError):
            parse_source(bad)
