"""``deconflict serve``: the channel service on uvicorn.

``DECONFLICT_CLOCK_FILE`` (for tests and demos only): when set, the server
reads "now" (seconds since the Unix epoch, as text) from that file at every
use instead of the system clock, so a test or a demo can move a real server's
time forward, e.g. past a message's reply-by deadline. Never set it in
production.
"""

from __future__ import annotations

import argparse
import gc
import logging.config
import os
import ssl
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from deconflict.cli.party import require_database, settings_for
from deconflict.client import is_loopback_host
from deconflict.config import Settings, check_nats_url, parse_bind
from deconflict.errors import InputError, Problem

if TYPE_CHECKING:
    from deconflict.api.metrics import Metrics, MetricsServer
    from deconflict.storage.sqlite.lock import ServerLock

__all__ = [
    "CLOCK_FILE_ENV",
    "YOUNG_OBJECTS",
    "FileClock",
    "check_tls",
    "load_detector",
    "run_serve",
    "tune_collector",
]

_log = logging.getLogger("deconflict.serve")

CLOCK_FILE_ENV = "DECONFLICT_CLOCK_FILE"
"""The environment variable naming a :class:`FileClock`'s file (tests and demos only)."""


YOUNG_OBJECTS = 200_000
"""New objects between two collections of Python's youngest generation, in the server (700 by default)."""


def tune_collector() -> None:
    """Set Python's cyclic garbage collector for a server whose heap holds millions of objects.

    With the default thresholds a dense detection cycle (some 100,000 alert
    changes, each a few short-lived objects) pushed its objects into the oldest
    generation faster than they died, and every few seconds a full collection
    walked the whole heap, holding the interpreter for 1 to 3 s: about 40 % of
    the server's CPU in dense traffic (``benchmarks/live.py --dense``). Collecting
    the youngest generation every :data:`YOUNG_OBJECTS` new objects lets a
    cycle's objects die (by reference counting) before they are promoted; what
    the server built before serving (modules, schemas, routes) is frozen out of
    every collection. Cycles of garbage are still collected.
    """
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, oldest)


def load_detector() -> threading.Thread:
    """Load the detector's compiled kernels in a thread, then freeze what that made too; the thread.

    Their typing (numba) makes ~50,000 objects for good, which the first cycle
    would otherwise leave to every full collection (at 100,000 aircraft they
    were most of what the server's full collections walked). Loading takes a
    third of a second from numba's cache and compiles on a fresh install
    (10-20 s): in a thread, so the server answers meanwhile. What is in flight
    at that freeze is frozen with it, once.
    """

    def load() -> None:
        from deconflict.tactical import warm_up

        warm_up()
        gc.freeze()

    loader = threading.Thread(target=load, name="deconflict-load-detector", daemon=True)
    loader.start()
    return loader


class FileClock:
    """A :class:`~deconflict.channel.deadlines.Clock` read from a file: for tests and demos only.

    Parameters
    ----------
    path
        A text file holding seconds since the Unix epoch; read at every call,
        so whoever writes it moves the server's time.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def now_s(self) -> float:
        """The time written in the file."""
        return float(self.path.read_text(encoding="ascii").strip())


def check_tls(host: str, cert: str | None, key: str | None, behind_proxy: bool = False) -> None:
    """Check ``--tls-cert``/``--tls-key`` (uvicorn's ``ssl_certfile``/``ssl_keyfile``) before binding.

    Bearer tokens never cross a network in clear text: without TLS, only a
    loopback ``host`` is accepted, unless ``behind_proxy`` says a reverse proxy
    on a trusted path terminates TLS in front of this server.

    Raises
    ------
    InputError
        If only one of the files is given, they cannot be read or do not form
        a certificate and its key, or a non-loopback ``host`` has no TLS.
    """
    if (cert is None) != (key is None):
        missing = "--tls-key" if key is None else "--tls-cert"
        raise InputError([Problem("command line", "give both --tls-cert and --tls-key", None, missing)])
    if cert is None or key is None:
        if not (behind_proxy or is_loopback_host(host)):
            raise InputError(
                [
                    Problem(
                        "command line",
                        f"{host!r} is reachable from other machines and bearer tokens would cross the "
                        "network in clear text: give --tls-cert and --tls-key, or --behind-proxy when a "
                        "TLS reverse proxy is the only way in",
                        None,
                        "--host",
                    )
                ]
            )
        return
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not Path(path).is_file():
            raise InputError([Problem(path, "no such file", None, flag)])
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        problem = Problem(f"{cert}, {key}", f"not a PEM certificate and its private key ({reason})")
        raise InputError([problem]) from exc


def _open_channel(settings: Settings, init: bool) -> tuple[ServerLock | None, str]:
    """Take the SQLite file's server lock, refusing a missing file unless ``init``; or check that the
    PostgreSQL database opens (and migrate it). Returns the lock (``None`` for PostgreSQL, which
    several nodes serve at once) and what to log."""
    from deconflict.storage import open_storage
    from deconflict.storage.sqlite.lock import ServerLock

    lock = None
    if settings.db_url is None:
        if not init:
            require_database(settings.db_path)
        # A second server on the same file, or a restore under way, is refused.
        lock = ServerLock(settings.db_path)
    try:
        with open_storage(settings) as storage:  # creates (and migrates) the file with --init
            count = len(storage.parties.list_parties())
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if settings.db_url is None:
        where = str(settings.db_path.resolve())
    else:
        from deconflict.storage.postgres.database import display_url

        where = display_url(settings.db_url.get_secret_value())
    return lock, f"database {where}: {count} {'party' if count == 1 else 'parties'}"


def run_serve(args: argparse.Namespace) -> int:
    """Serve the API until interrupted; returns 0 after a clean shutdown."""
    import uvicorn

    from deconflict.api import create_app
    from deconflict.api.connections import guarded_http_protocol
    from deconflict.api.middleware import logging_config

    check_tls(args.host, args.tls_cert, args.tls_key, args.behind_proxy)
    settings = settings_for(args.db)
    if getattr(args, "nats", None) is not None:
        try:
            settings = settings.model_copy(update={"nats_url": check_nats_url(args.nats)})
        except ValueError as exc:
            raise InputError([Problem("--nats", str(exc))]) from None
    if settings.nats_url is not None and settings.db_url is None:
        raise InputError(
            [
                Problem(
                    "nats_url", "events cross nodes only with a PostgreSQL database (--db postgresql://...)"
                )
            ]
        )
    if getattr(args, "metrics_bind", None) is not None:
        settings = settings.model_copy(update={"metrics_bind": args.metrics_bind})
    if getattr(args, "overlay", None):
        settings = settings.model_copy(update={"map_overlays": tuple(Path(p) for p in args.overlay)})
    log_config = logging_config(getattr(args, "log_format", "json"))
    logging.config.dictConfig(log_config)
    clock_file = os.environ.get(CLOCK_FILE_ENV)
    clock = FileClock(clock_file) if clock_file else None
    # Before the database: a bad overlay file stops the server before it takes the database's lock.
    app = create_app(settings, clock=clock)
    lock, served = _open_channel(settings, getattr(args, "init", False))
    try:
        operator = _serve_metrics(app.state.metrics, settings.metrics_bind)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    _log.info("%s", served)
    tune_collector()
    load_detector()
    if operator is not None:
        _log.info("operator metrics at %s", operator.url)
    try:
        # Each request is logged once by the app (deconflict.api.middleware), not by uvicorn.
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="info",
            log_config=log_config,
            access_log=False,
            ssl_certfile=args.tls_cert,
            ssl_keyfile=args.tls_key,
            # Half-sent requests are closed, and connections beyond the cap answered 503.
            http=guarded_http_protocol(settings.http_header_timeout_s, settings.max_connections),
        )
    finally:
        if operator is not None:
            operator.stop()
        if lock is not None:
            lock.release()
    return 0


def _serve_metrics(metrics: Metrics, bind: str | None) -> MetricsServer | None:
    """The operator's metrics address, listening, if one is set."""
    if bind is None:
        return None
    from deconflict.api.metrics import serve_metrics

    host, port = parse_bind(bind)
    try:
        return serve_metrics(metrics, host, port)
    except OSError as exc:
        raise InputError([Problem("metrics_bind", f"cannot listen: {exc.strerror or exc}", bind)]) from exc
