"""A real ``deconflict serve`` process for end-to-end tests, always stopped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

STARTUP_S = 30.0
_RUNNING = re.compile(r"running on (http://127\.0\.0\.1:\d+)")


@contextmanager
def serve_process(
    db: Path, log: Path, env: dict[str, str] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start ``deconflict serve`` on 127.0.0.1 and an ephemeral port; yield the process and its URL.

    The server's log goes to a file, polled for the "running on" line: never a
    pipe that could fill up, and no mix of select() with buffered reads.
    """
    command = [sys.executable, "-m", "deconflict", "serve", "--db", str(db), "--port", "0", *extra_args]
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
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
