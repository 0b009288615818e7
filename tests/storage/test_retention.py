"""Scheduled backups: ``db backup --keep N DIR`` writes timestamped copies and keeps the N newest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.errors import InputError
from deconflict.storage import SQLiteStore
from deconflict.storage.sqlite.audit import audit_key_path
from deconflict.storage.sqlite.retention import BACKUP_NAME, prune_backups, timestamped_backup_path
from deconflict.strategic import file_operation
from tests.builders import box, volume

T0_S = 1_796_443_200.0  # 2026-12-05T04:00:00Z


def _backup_files(folder: Path, times_s: list[float]) -> list[Path]:
    made = []
    for time_s in times_s:
        path = timestamped_backup_path(folder, time_s)
        path.write_text(f"backup at {time_s}")
        audit_key_path(path).write_text("key")
        made.append(path)
    return made


def test_prune_keeps_the_newest_and_deletes_older_backups_with_their_keys(tmp_path: Path) -> None:
    # Written out of order: age comes from the name, never from the order of writing.
    made = _backup_files(tmp_path, [T0_S + 86_400 * 2, T0_S, T0_S + 86_400 * 3, T0_S + 86_400 + 0.5])
    unrelated = [tmp_path / "notes.txt", tmp_path / "deconflict-manual.db", tmp_path / "deconflict.db"]
    for path in unrelated:
        path.write_text("not a timestamped backup")
    removed = prune_backups(tmp_path, 2)
    assert removed == [made[1], made[3]]  # the two oldest, oldest first
    assert sorted(p for p in tmp_path.iterdir() if BACKUP_NAME.fullmatch(p.name)) == [made[0], made[2]]
    assert all(not audit_key_path(p).exists() for p in removed)
    assert all(audit_key_path(p).exists() for p in (made[0], made[2]))
    assert all(p.exists() for p in unrelated)
    assert prune_backups(tmp_path, 2) == []
    with pytest.raises(ValueError, match="keep must be >= 1"):
        prune_backups(tmp_path, 0)


def test_timestamped_names_sort_as_time_does_and_the_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "backups" / "daily"
    times_s = [T0_S + 0.000001, T0_S + 9.5, T0_S + 10.0, T0_S + 86_400 * 400]
    names = [timestamped_backup_path(folder, t).name for t in times_s]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert names[0] == "deconflict-20261205T040000.000001Z.db"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot make the backup folder"):
        timestamped_backup_path(tmp_path / "file", T0_S)


def test_db_backup_keep_writes_into_the_folder_and_keeps_the_newest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "channel.db"
    with SQLiteStore(db) as store:
        file_operation(store, "blue", "op-1", [volume("v1", "blue", box(0, 0, 1, 1))])
    folder = tmp_path / "backups"
    for _ in range(3):
        assert main(["db", "backup", "--db", str(db), "--keep", "2", str(folder)]) == 0
    out = capsys.readouterr().out
    kept = sorted(p for p in folder.iterdir() if BACKUP_NAME.fullmatch(p.name))
    assert len(kept) == 2
    assert out.count("backup written to") == 3
    (removed_line,) = [line for line in out.splitlines() if line.startswith("removed")]
    assert removed_line.endswith("(keeping the 2 newest)")
    assert str(kept[0]) not in removed_line and str(kept[1]) not in removed_line
    # What is kept restores: the newest backup is a whole channel.
    restored = tmp_path / "restored.db"
    assert main(["db", "restore", "--db", str(restored), str(kept[-1])]) == 0
    with SQLiteStore(restored) as store:
        assert [op.id for op in store.list_operations("blue")] == ["op-1"]


@pytest.mark.parametrize("keep", ["0", "-1", "two"])
def test_db_backup_keep_must_be_a_whole_number_of_at_least_one(
    keep: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "backup", "--keep", keep, str(tmp_path)]) == 2
    assert "--keep" in capsys.readouterr().err
