"""The public API is small, typed and exactly what ``__all__`` says (as httpx checks)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from importlib.metadata import metadata, version
from pathlib import Path

import pytest

import deconflict

EXPECTED_PUBLIC = {
    "Buffers",
    "Conflict",
    "DeconflictError",
    "FilingResult",
    "InputError",
    "Limits",
    "NotFoundError",
    "Operation",
    "OperationState",
    "Problem",
    "Settings",
    "StaleVersionError",
    "Volume",
    "__version__",
    "file_operation",
    "find_conflicts",
    "load_settings",
    "parse_features",
    "read_volumes",
    "withdraw_operation",
}


def test_all_is_exactly_the_expected_public_api() -> None:
    assert set(deconflict.__all__) == EXPECTED_PUBLIC
    assert len(deconflict.__all__) == len(EXPECTED_PUBLIC), "duplicates in __all__"


@pytest.mark.parametrize("name", sorted(EXPECTED_PUBLIC))
def test_every_public_name_exists(name: str) -> None:
    assert getattr(deconflict, name) is not None


@pytest.mark.parametrize("name", sorted(EXPECTED_PUBLIC - {"__version__"}))
def test_public_names_are_defined_in_deconflict(name: str) -> None:
    assert getattr(deconflict, name).__module__.startswith("deconflict.")


@pytest.mark.parametrize(
    "module",
    [
        "deconflict.errors",
        "deconflict.units",
        "deconflict.config",
        "deconflict.geometry",
        "deconflict.geometry.footprint",
        "deconflict.geometry.overlap",
        "deconflict.geometry.geodesy",
        "deconflict.geometry.antimeridian",
        "deconflict.strategic",
        "deconflict.storage",
        "deconflict.storage.sqlite",
        "deconflict.storage.sqlite.storage",
        "deconflict.storage.postgres",
        "deconflict.storage.postgres.migrations",
        "deconflict.storage.postgres.database",
        "deconflict.storage.postgres.storage",
        "deconflict.channel.stores",
        "deconflict.cli",
        "deconflict.channel",
        "deconflict.channel.parties",
        "deconflict.channel.disclosure",
        "deconflict.channel.catalogue",
        "deconflict.channel.messages",
        "deconflict.channel.deadlines",
        "deconflict.channel.audit",
        "deconflict.channel.audit_verify",
        "deconflict.channel.service.common",
        "deconflict.channel.service.conflicts",
        "deconflict.channel.service.incidents",
        "deconflict.channel.service.logins",
        "deconflict.channel.service.messages",
        "deconflict.channel.service.operations",
        "deconflict.channel.service.parties",
        "deconflict.channel.service.tracks",
        "deconflict.channel.events",
        "deconflict.channel.live",
        "deconflict.channel.live.alerts",
        "deconflict.channel.live.incidents",
        "deconflict.channel.live.picture",
        "deconflict.channel.live.settings",
        "deconflict.channel.live.tracks",
        "deconflict.tactical.replay",
        "deconflict.tactical.tracks",
        "deconflict.api.routers.events",
        "deconflict.storage.sqlite.audit",
        "deconflict.cli.audit",
        "deconflict.storage.sqlite.messages",
        "deconflict.client",
        "deconflict.api",
        "deconflict.api.schemas.alerts",
        "deconflict.api.schemas.audit",
        "deconflict.api.schemas.catalogue",
        "deconflict.api.schemas.common",
        "deconflict.api.schemas.conflicts",
        "deconflict.api.schemas.disclosures",
        "deconflict.api.schemas.health",
        "deconflict.api.schemas.incidents",
        "deconflict.api.schemas.messages",
        "deconflict.api.schemas.operations",
        "deconflict.api.schemas.ops",
        "deconflict.api.schemas.parties",
        "deconflict.api.schemas.stats",
        "deconflict.api.schemas.tracks",
        "deconflict.api.deps",
        "deconflict.channel.conflicts",
        "deconflict.storage.sqlite.conflict_states",
        "deconflict.storage.sqlite.box_index",
        "deconflict.cli.ops",
        "deconflict.cli.conflicts",
        "deconflict.cli.convert",
        "deconflict.formats",
        "deconflict.formats.f3548",
        "deconflict.formats.kml",
        "deconflict.formats.notam",
        "deconflict.formats.ed269",
        "deconflict.formats.ed318",
        "deconflict.formats.zones",
        "deconflict.formats.zone_fields",
        "deconflict.strategic.zones",
        "deconflict.cli.demo",
        "deconflict.demo.scenario",
        "deconflict.demo.driver",
    ],
)
def test_every_module_all_names_exist(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert missing == []


def test_version_matches_the_installed_distribution() -> None:
    assert deconflict.__version__ == version("deconflict")


def test_import_reads_no_settings() -> None:
    # A broken environment must not break `import deconflict`; only load_settings reads it.
    code = (
        "import deconflict\n"
        "try:\n"
        "    deconflict.load_settings()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    env = {"DECONFLICT_BUFFER_M": "not-a-number", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "InputError"  # naming the variable, the value and what is expected


def test_the_licence_is_an_spdx_expression_and_its_text_ships() -> None:
    # A licence table is deprecated by setuptools (PEP 639); the text must be in every distribution.
    repo = Path(__file__).resolve().parents[1]
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (project["license"], project["license-files"]) == ("MIT", ["LICENSE"])
    text = (repo / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and "deconflict contributors" in text
    assert metadata("deconflict")["License-Expression"] == "MIT"
