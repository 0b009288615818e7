"""Running the ``deconflict`` command in tests: in this process, into the in-process app, in a new process.

Also the API tests' ``channel`` fixtures, which the client commands run into.
"""

from __future__ import annotations

import importlib
import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from deconflict.cli import _COMMANDS, _parser, main
from tests.api.conftest import AppTransport, Channel, channel, channel_backend, channel_settings

__all__ = [
    "CLIENT_URL",
    "channel",
    "channel_backend",
    "channel_settings",
    "party_add",
    "run_cli",
    "run_client",
    "run_main",
    "token_of",
]

CLIENT_URL = "http://testserver"
"""The ``--url`` of a client command routed into the in-process app (the host is not looked up)."""


def run_client(channel: Channel, party: str, *argv: str, token: str | None = None) -> int:
    """``deconflict ARGV --url CLIENT_URL --token T`` into ``channel``'s app as ``party``: the exit code.

    ``token`` replaces the party's own. The command runs as :func:`deconflict.cli.main`
    dispatches it, with the app as the client's transport; errors propagate (``main``
    would print them).
    """
    args = _parser().parse_args([*argv, "--url", CLIENT_URL, "--token", token or channel.tokens[party]])
    module_name, function_name = _COMMANDS[args.command]
    run = getattr(importlib.import_module(f"deconflict.cli.{module_name}"), function_name)
    return int(run(args, AppTransport(channel.client)))


def run_main(*argv: str) -> tuple[int, str, str]:
    """``deconflict ARGV`` in this process (:func:`deconflict.cli.main`): its exit code, stdout and stderr.

    The output is captured by redirection, not by ``capsys``: hypothesis tests can call it too.
    """
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``deconflict ARGS`` in a new process: its exit code, stdout and stderr (bounded in time)."""
    return subprocess.run(
        [sys.executable, "-m", "deconflict", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=cwd,
        env=env if env is not None else dict(os.environ),
        check=False,
    )


def party_add(db: Path | str, name: str, *extra: str) -> tuple[int, str, str]:
    """``deconflict party add NAME --db DB EXTRA`` in this process: its exit code, stdout and stderr."""
    return run_main("party", "add", name, "--db", str(db), *extra)


def token_of(out: str) -> str:
    """The token ``party add`` printed (once, on a ``token:`` line)."""
    match = re.search(r"^token: (\S+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)
