"""Live receiver sources: BaseStation (``sbs://HOST:PORT``, dump1090/readsb port 30003) and Beast
binary (``beast://HOST:PORT``, port 30005) read over TCP; ASTERIX CAT021/CAT062
(``asterix+udp://HOST:PORT``) received as UDP datagrams on HOST:PORT.

A :class:`LiveSource` connects on a background thread (an asyncio loop of its own), so a
slow consumer never stalls the receiver and the receiver never blocks the consumer; its
subclasses only turn received bytes into states: :class:`SbsSource` lines through
:class:`~deconflict.feeds.sbs.SbsAssembler`, :class:`BeastSource` frames through
:class:`~deconflict.feeds.beast.BeastAssembler`, :class:`AsterixSource` datagrams through
:class:`~deconflict.feeds.asterix.AsterixAssembler`. Each aircraft's latest state
waits in a table until :meth:`LiveSource.take` collects it (a state replaced before it
was taken counts as ``superseded``: the table is bounded by the number of aircraft).

Time: a BaseStation state carries its message's own time (generated at the receiver,
read as UTC); a Beast state its receive time (the Beast MLAT clock has no epoch); an ASTERIX
state its record's time of day, on the date that puts it nearest its receive time.
:meth:`LiveSource.take` compares it with the consumer's clock (receive side) and drops
states older than ``stale_s`` as ``stale`` instead of handing on positions that no
longer hold: a feed that falls behind, or a receiver whose clock is off, says so by
that count.

When the connection fails, drops, or stays silent for ``stall_s``, the source reconnects
after a back-off that doubles from ``initial_backoff_s`` to ``max_backoff_s`` and starts
again from the first once a connection delivers data. A UDP source has no connection: it
binds HOST:PORT (a multicast group address is joined on all interfaces), retrying with the
same back-off while it cannot, and says so when no datagram came for ``stall_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from deconflict.errors import InputError, Problem
from deconflict.feeds.asterix import AsterixAssembler
from deconflict.feeds.beast import BeastAssembler
from deconflict.feeds.beast_scan import scan_frame_arrays
from deconflict.feeds.drops import Drops
from deconflict.feeds.sbs import DEFAULT_MAX_VELOCITY_AGE_S, FeedState, SbsAssembler

__all__ = [
    "AsterixSource",
    "BeastSource",
    "LiveCounts",
    "LiveSource",
    "SbsSource",
    "open_source",
    "parse_source",
]

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
"""A longer 'line' is garbage (a wrong port, a binary protocol): dropped, counted."""
MAX_FRAME_BYTES = 4096
"""Unframed Beast bytes kept for the next read at most (a frame is far shorter)."""
SCHEMES = ("sbs", "beast", "asterix+udp")


def parse_source(url: str) -> tuple[str, int]:
    """Host and port of ``sbs://HOST:PORT``, ``beast://HOST:PORT`` or ``asterix+udp://HOST:PORT``.

    Raises
    ------
    InputError
        Not such a URL with a host and a port.

    Examples
    --------
    >>> parse_source("sbs://127.0.0.1:30003")
    ('127.0.0.1', 30003)
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in SCHEMES or not parts.hostname or port is None:
        message = (
            "expected sbs://HOST:PORT (a BaseStation source), beast://HOST:PORT (Beast binary) or "
            "asterix+udp://HOST:PORT (ASTERIX datagrams received on HOST:PORT)"
        )
        raise InputError([Problem(url, message, None, "--source")])
    return parts.hostname, port


@dataclass(frozen=True)
class LiveCounts:
    """What a live source has done so far (``lines``: lines, or Beast frames, received)."""

    connects: int
    failures: int
    lines: int
    states: int
    superseded: int
    stale: int
    dropped: dict[str, int]
    connected: bool


class LiveSource:
    """Reads a receiver on a background thread; :meth:`take` collects the latest states.
    Subclasses say what the bytes are (:meth:`_consume`).

    Parameters
    ----------
    host, port
        The receiver.
    initial_backoff_s, max_backoff_s
        Reconnection delays: doubled after each failure, from the first to the second.
    stall_s
        A connection silent this long is closed and reopened.
    """

    scheme = ""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        stall_s: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.url = f"{self.scheme}://{host}:{port}"
        self.initial_backoff_s, self.max_backoff_s, self.stall_s = initial_backoff_s, max_backoff_s, stall_s
        self._lock = threading.Lock()
        self._pending: dict[str, FeedState] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connects = self._failures = self._lines = self._states = self._superseded = self._stale = 0
        self._connected = False

    @property
    def drops(self) -> Drops:
        """What the source dropped so far."""
        raise NotImplementedError

    @property
    def records(self) -> int:
        """How many records (lines, frames) it read so far."""
        raise NotImplementedError

    def _consume(self, chunk: bytes) -> tuple[int, list[FeedState]]:
        """Take received bytes; how many records they completed and the states assembled."""
        raise NotImplementedError

    def _connection_ends(self) -> None:
        """Forget what was left unfinished of the connection's last record."""

    def start(self) -> LiveSource:
        """Start reading (returns immediately)."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name=self.url, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop reading and wait (at most ``timeout_s``) for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
            self.drops.log(logger, self.records)

    def __enter__(self) -> LiveSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def take(self, now_s: float, stale_s: float) -> list[FeedState]:
        """The states assembled since the last call, each aircraft's latest, older than
        ``stale_s`` at ``now_s`` left out (counted as ``stale``)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        fresh = [state for state in pending.values() if now_s - state.time_s <= stale_s]
        with self._lock:
            self._stale += len(pending) - len(fresh)
        return fresh

    def counts(self) -> LiveCounts:
        """A snapshot of the counters."""
        with self._lock:
            return LiveCounts(
                self._connects,
                self._failures,
                self._lines,
                self._states,
                self._superseded,
                self._stale,
                dict(self.drops.counts),
                self._connected,
            )

    async def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            got_data = False
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5.0)
            except (OSError, TimeoutError) as exc:
                logger.warning("%s: cannot connect: %s", self.url, exc)
            else:
                with self._lock:
                    self._connects += 1
                    self._connected = True
                logger.info("%s: connected", self.url)
                try:
                    got_data = await self._read(reader)
                finally:
                    self._connection_ends()
                    with self._lock:
                        self._connected = False
                    writer.close()
                    with contextlib.suppress(OSError, ConnectionError):
                        await writer.wait_closed()
            if self._stop.is_set():
                break
            failures = 0 if got_data else failures + 1
            with self._lock:
                self._failures += 1
            delay_s = min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** max(failures - 1, 0))
            logger.warning("%s: reconnecting in %.1f s", self.url, delay_s)
            deadline = time.monotonic() + delay_s
            while not self._stop.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(min(0.05, delay_s))

    async def _read(self, reader: asyncio.StreamReader) -> bool:
        """Read until the connection ends, stalls or the source stops; whether any data came."""
        got_data = False
        silent_s = 0.0
        while not self._stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.1)
            except TimeoutError:
                silent_s += 0.1
                if silent_s >= self.stall_s:
                    logger.warning("%s: silent for %.0f s", self.url, silent_s)
                    return got_data
                continue
            except (OSError, ConnectionError):
                return got_data
            if not chunk:
                return got_data
            got_data, silent_s = True, 0.0
            records, states = self._consume(chunk)
            with self._lock:
                self._lines += records
                self._states += len(states)
                for state in states:
                    if state.id in self._pending:
                        self._superseded += 1
                    self._pending[state.id] = state
        return got_data


class SbsSource(LiveSource):
    """Reads ``sbs://HOST:PORT``: BaseStation lines (see :class:`LiveSource` for the options;
    ``max_velocity_age_s``: the assembly rule's, :mod:`deconflict.feeds.sbs`)."""

    scheme = "sbs"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
        **options: float,
    ) -> None:
        super().__init__(host, port, **options)
        self.assembler = SbsAssembler(self.url, max_velocity_age_s)
        self._partial = b""
        self._row = 0

    @property
    def drops(self) -> Drops:
        return self.assembler.drops

    @property
    def records(self) -> int:
        return self.assembler.records

    def _connection_ends(self) -> None:
        self._partial = b""

    def _consume(self, chunk: bytes) -> tuple[int, list[FeedState]]:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE_BYTES:
            self._row += 1
            self.drops.add("garbage", self._row, None, f"a line longer than {MAX_LINE_BYTES} bytes")
            self._partial = b""
        states: list[FeedState] = []
        for raw in lines:
            self._row += 1
            if len(raw) > MAX_LINE_BYTES:
                self.drops.add("garbage", self._row, None, f"a line longer than {MAX_LINE_BYTES} bytes")
                continue
            state = self.assembler.line(raw.decode("utf-8", errors="replace"), self._row)
            if state is not None:
                states.append(state)
        return len(lines), states


class BeastSource(LiveSource):
    """Reads ``beast://HOST:PORT``: Beast frames, timed by their receive time (see
    :class:`LiveSource` for the options; ``reference``: a position near the receiver for
    local CPR decoding, :mod:`deconflict.feeds.beast`)."""

    scheme = "beast"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        reference: tuple[float, float] | None = None,
        max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
        clock: Callable[[], float] = time.time,
        **options: float,
    ) -> None:
        super().__init__(host, port, **options)
        self.assembler = BeastAssembler(self.url, reference=reference, max_velocity_age_s=max_velocity_age_s)
        self.clock = clock
        self._partial = b""

    @property
    def drops(self) -> Drops:
        return self.assembler.drops

    @property
    def records(self) -> int:
        return self.assembler.records

    def _connection_ends(self) -> None:
        if self._partial[:1] == b"\x1a":
            self.drops.add("truncated", None, None, "a frame cut by the end of the connection")
        elif self._partial:
            self.drops.add("garbage", None, None, "bytes between frames at the end of the connection")
        self._partial = b""

    def _consume(self, chunk: bytes) -> tuple[int, list[FeedState]]:
        data = self._partial + chunk
        scan = scan_frame_arrays(data, final=False)
        self._partial = data[scan.rest :]
        garbage = scan.garbage
        if len(self._partial) > MAX_FRAME_BYTES:
            garbage += 1
            self._partial = b""
        self.drops.add_many("garbage", garbage)
        self.drops.add_many("truncated", scan.truncated)
        states = self.assembler.frames(scan, self.clock())
        return len(scan) + garbage + scan.truncated, states


class AsterixSource(LiveSource):
    """Receives ``asterix+udp://HOST:PORT``: ASTERIX CAT021/CAT062 data blocks in UDP datagrams
    bound on HOST:PORT, each record dated nearest its receive time (see :class:`LiveSource` for
    the options; ``max_velocity_age_s``: the assembly rule's, :mod:`deconflict.feeds.sbs`)."""

    scheme = "asterix+udp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_velocity_age_s: float = DEFAULT_MAX_VELOCITY_AGE_S,
        clock: Callable[[], float] = time.time,
        **options: float,
    ) -> None:
        super().__init__(host, port, **options)
        self.assembler = AsterixAssembler(self.url, max_velocity_age_s=max_velocity_age_s)
        self.clock = clock

    @property
    def drops(self) -> Drops:
        return self.assembler.drops

    @property
    def records(self) -> int:
        return self.assembler.records

    def _consume(self, chunk: bytes) -> tuple[int, list[FeedState]]:
        before = self.assembler.records
        states = self.assembler.datagram(chunk, self.clock())
        return self.assembler.records - before, states

    def _socket(self) -> socket.socket:
        """A UDP socket bound on the source's address (joined to it when it is a multicast group)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            sock.bind((self.host, self.port))
            address = ipaddress.ip_address(self.host) if self.host[0].isdigit() or ":" in self.host else None
            if address is not None and address.is_multicast and family == socket.AF_INET:
                group = struct.pack("4s4s", address.packed, socket.inet_aton("0.0.0.0"))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._stop.is_set():
            try:
                sock = self._socket()
            except OSError as exc:
                logger.warning("%s: cannot bind: %s", self.url, exc)
                failures += 1
                with self._lock:
                    self._failures += 1
                delay_s = min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** max(failures - 1, 0))
                logger.warning("%s: binding again in %.1f s", self.url, delay_s)
                deadline = time.monotonic() + delay_s
                while not self._stop.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(min(0.05, delay_s))
                continue
            with self._lock:
                self._connects += 1
                self._connected = True
            logger.info("%s: listening", self.url)
            try:
                await self._receive(loop, sock)
            finally:
                with self._lock:
                    self._connected = False
                sock.close()

    async def _receive(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        silent_s = 0.0
        warned = False
        while not self._stop.is_set():
            try:
                datagram = await asyncio.wait_for(loop.sock_recv(sock, 65536), 0.1)
            except TimeoutError:
                silent_s += 0.1
                if silent_s >= self.stall_s and not warned:
                    logger.warning("%s: no datagram for %.0f s", self.url, silent_s)
                    warned = True
                continue
            except OSError as exc:
                logger.warning("%s: %s", self.url, exc)
                return
            silent_s, warned = 0.0, False
            records, states = self._consume(datagram)
            with self._lock:
                self._lines += records
                self._states += len(states)
                for state in states:
                    if state.id in self._pending:
                        self._superseded += 1
                    self._pending[state.id] = state


def open_source(url: str, **options: Any) -> LiveSource:
    """The live source of ``sbs://HOST:PORT``, ``beast://HOST:PORT`` or ``asterix+udp://HOST:PORT``
    (``options``: its own).

    Raises
    ------
    InputError
        Not such a URL.
    """
    host, port = parse_source(url)
    kinds: dict[str, type[LiveSource]] = {
        "sbs": SbsSource,
        "beast": BeastSource,
        "asterix+udp": AsterixSource,
    }
    return kinds[url.split(":", 1)[0]](host, port, **options)
