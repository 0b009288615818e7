"""deploy/Containerfile: its COPY sources exist, it runs as a non-root user, its command parses."""

from __future__ import annotations

import shlex

from tests.deploy.units import DEPLOY, REPO, check_deconflict_command, container_instructions, exec_form

CONTAINERFILE = DEPLOY / "Containerfile"


def test_every_copy_source_from_the_build_context_exists() -> None:
    copies = [args for instruction, args in container_instructions(CONTAINERFILE) if instruction == "COPY"]
    from_context = [shlex.split(args) for args in copies if not args.startswith("--from=")]
    assert from_context
    for words in from_context:
        sources = [w for w in words[:-1] if not w.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"{CONTAINERFILE.name}: COPY {source}: not in the repository"


def test_the_image_runs_the_service_as_a_non_root_user_with_a_volume_for_the_database() -> None:
    instructions = container_instructions(CONTAINERFILE)
    final_stage = instructions[max(i for i, (name, _) in enumerate(instructions) if name == "FROM") :]
    users = [args for name, args in final_stage if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    (volume,) = [args for name, args in final_stage if name == "VOLUME"]
    (command,) = [exec_form(args) for name, args in final_stage if name == "CMD"]
    check_deconflict_command(command, f"{CONTAINERFILE.name}: CMD")
    db = command[command.index("--db") + 1]
    assert db.startswith(volume.rstrip("/") + "/"), (db, volume)
    # Plain HTTP on all of the container's addresses only with the proxy in front, said explicitly.
    assert command[command.index("--host") + 1] == "0.0.0.0" and "--behind-proxy" in command
    env = " ".join(args for name, args in final_stage if name == "ENV")
    assert f"DECONFLICT_DB_PATH={db}" in env
