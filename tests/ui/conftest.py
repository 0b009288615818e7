"""Run the page's own ES modules under Node: what the browser loads, without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deconflict.api.routers.ui import ui_root
from deconflict.config import Settings

UI = ui_root(Settings())

RunModule = Callable[[str], Any]


@pytest.fixture(scope="module")
def run_module(tmp_path_factory: pytest.TempPathFactory) -> RunModule:
    """``run(script)``: the JSON a module script prints, run beside a copy of the page's modules.

    The script may import ``./format.js``, ``./i18n.js`` and the others; ``localStorage`` is a
    plain in-memory stand-in. Skips when Node is missing (``make`` needs it for the page's assets).
    """
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing (the Makefile needs it for the page's assets)")
    folder: Path = tmp_path_factory.mktemp("ui-modules")
    for module in UI.glob("*.js"):
        shutil.copy(module, folder / module.name)
    (folder / "package.json").write_text('{"type": "module"}\n')
    storage = (
        "globalThis.localStorage = { items: {}, getItem(k) { return this.items[k] ?? null; },"
        " setItem(k, v) { this.items[k] = String(v); } };\n"
    )

    def run(script: str) -> Any:
        (folder / "script.js").write_text(storage + script)
        done = subprocess.run(
            [node, "script.js"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run
