"""scripts/system-deps: looks first, runs apt-get only for what is missing, fails naming it.

Run with a PATH of a temporary folder only, where ``apt-get`` (and ``sudo``, for a run
that is not root's) are stand-ins that write down their arguments; the ``build`` group's
packages (make, nodejs, npm) are found through that PATH alone, so they are missing
until the stand-in "installs" them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "system-deps"
BASH = shutil.which("bash") or "/bin/bash"

# The stand-in apt-get: writes its arguments; "installs" by making the named commands exist,
# unless told to fail.
FAKE_APT_GET = """#!{bash}
echo "apt-get $*" >> "{log}"
[ -e "{bin}/broken" ] && exit 100
if [ "$1" = install ]; then
    for package in "$@"; do
        case "$package" in
            make) name=make ;;
            nodejs) name=node ;;
            npm) name=npm ;;
            *) continue ;;
        esac
        printf '#!{bash}\\n' > "{bin}/$name"
        {chmod} +x "{bin}/$name"
    done
fi
"""
FAKE_SUDO = """#!{bash}
echo "sudo $*" >> "{log}"
exec "$@"
"""


def _tools(tmp_path: Path) -> tuple[Path, Path]:
    """A folder for PATH with the stand-ins, ``env`` and ``id``; and the log they write to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    fields = {"bash": BASH, "log": log, "bin": bin_dir, "chmod": shutil.which("chmod")}
    for name, text in (("apt-get", FAKE_APT_GET), ("sudo", FAKE_SUDO)):
        (bin_dir / name).write_text(text.format(**fields))
        (bin_dir / name).chmod(0o755)
    for name in ("env", "id"):
        found = shutil.which(name)
        assert found is not None
        (bin_dir / name).symlink_to(found)
    return bin_dir, log


def _run(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(SCRIPT), *args],
        env={"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_installs_only_what_is_missing(tmp_path: Path) -> None:
    bin_dir, log = _tools(tmp_path)
    (bin_dir / "make").write_text(f"#!{BASH}\n")
    (bin_dir / "make").chmod(0o755)
    result = _run(bin_dir, "build")
    assert result.returncode == 0, result.stderr
    assert "installing nodejs npm" in result.stderr
    apt = [call.removeprefix("sudo env DEBIAN_FRONTEND=noninteractive ") for call in _calls(log)]
    apt = [call for call in apt if call.startswith("apt-get")]
    assert apt == ["apt-get update -qq", "apt-get install -y -qq nodejs npm"]
    assert (bin_dir / "node").exists()
    assert (bin_dir / "npm").exists()


def test_quick_when_everything_is_there(tmp_path: Path) -> None:
    bin_dir, log = _tools(tmp_path)
    for name in ("make", "node", "npm"):
        (bin_dir / name).write_text(f"#!{BASH}\n")
        (bin_dir / name).chmod(0o755)
    result = _run(bin_dir, "build")
    assert (result.returncode, result.stderr) == (0, "")
    assert _calls(log) == []


def test_fails_naming_what_it_could_not_install(tmp_path: Path) -> None:
    bin_dir, _ = _tools(tmp_path)
    (bin_dir / "broken").touch()
    result = _run(bin_dir, "build")
    assert result.returncode == 1
    assert "apt-get could not install make nodejs npm" in result.stderr
    assert "apt-get install make nodejs npm" in result.stderr  # what to do by hand


def test_fails_when_apt_get_installs_but_the_command_is_still_missing(tmp_path: Path) -> None:
    bin_dir, _ = _tools(tmp_path)
    (bin_dir / "apt-get").write_text(f"#!{BASH}\n")  # "succeeds" and installs nothing
    result = _run(bin_dir, "build")
    assert result.returncode == 1
    assert "still missing after apt-get install: make nodejs npm" in result.stderr


def test_refuses_an_unknown_group(tmp_path: Path) -> None:
    bin_dir, _ = _tools(tmp_path)
    result = _run(bin_dir, "everything")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_the_makefile_runs_it_before_the_tests() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "\ntest: test-deps " in makefile
    assert "\ntest-deps:\n\tscripts/system-deps test\n" in makefile
    assert os.access(SCRIPT, os.X_OK)
