"""deploy/systemd/: a hardened service and a backup timer, as their own user, with commands the CLI takes."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.units import DEPLOY, check_deconflict_command, unit_sections

SYSTEMD = DEPLOY / "systemd"
SERVICES = sorted(SYSTEMD.glob("*.service"))
UNITS = [*SERVICES, *sorted(SYSTEMD.glob("*.timer"))]


def _exec_starts(path: Path) -> list[list[str]]:
    return [shlex.split(line) for line in unit_sections(path)["Service"]["ExecStart"]]


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_there_are_a_service_and_a_backup_timer() -> None:
    assert {p.name for p in UNITS} == {
        "deconflict.service",
        "deconflict-backup.service",
        "deconflict-backup.timer",
    }


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_every_exec_start_is_a_command_line_the_cli_accepts(unit: Path) -> None:
    (argv,) = _exec_starts(unit)
    check_deconflict_command(argv, unit.name)


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_services_are_hardened_and_run_as_the_dedicated_user(unit: Path) -> None:
    service = unit_sections(unit)["Service"]
    expected = {
        "User": ["deconflict"],
        "Group": ["deconflict"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"],
        "CapabilityBoundingSet": [""],
        "UMask": ["0077"],
        "StateDirectoryMode": ["0700"],
    }
    assert {key: service.get(key) for key in expected} == expected
    # The user is the one the sysusers file creates, never root.
    sysusers = (SYSTEMD / "deconflict.sysusers.conf").read_text().splitlines()
    assert any(line.split()[:2] == ["u", "deconflict"] for line in sysusers)
    # Every path a command writes is in a folder systemd makes writable (ProtectSystem=strict).
    writable = {f"/var/lib/{name}" for line in service["StateDirectory"] for name in line.split()}
    (argv,) = _exec_starts(unit)
    written = [_option(argv, "--db")] + ([argv[-1]] if "--keep" in argv else [])
    for path in written:
        assert any(path == d or path.startswith(d + "/") for d in writable), (unit.name, path, writable)


def test_the_backup_copies_the_served_database_and_keeps_a_bounded_number() -> None:
    (serve,) = _exec_starts(SYSTEMD / "deconflict.service")
    (backup,) = _exec_starts(SYSTEMD / "deconflict-backup.service")
    assert serve[1] == "serve" and backup[1:3] == ["db", "backup"]
    assert _option(backup, "--db") == _option(serve, "--db")
    assert int(_option(backup, "--keep")) >= 1
    # Tokens never cross a network in clear text: the service listens on loopback, behind the proxy.
    assert _option(serve, "--host") == "127.0.0.1" and "--behind-proxy" not in serve
    timer = unit_sections(SYSTEMD / "deconflict-backup.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The units name /opt/deconflict/bin/deconflict; here the one of this environment stands in.
    installed = Path(sys.executable).with_name("deconflict")
    assert installed.is_file()
    for unit in UNITS:
        text = unit.read_text().replace("/opt/deconflict/bin/deconflict", str(installed))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # systemd-analyze exits 0 on many problems it only warns about: any word from it is a finding.
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr + done.stdout
