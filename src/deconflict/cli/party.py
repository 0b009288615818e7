"""``deconflict party add|list|revoke|rotate``: parties and credentials on the server's database.

``deconflict party keygen`` runs at the party, not at the server: it makes the
party's Ed25519 key pair, whose public half goes to the channel operator.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from deconflict.channel.keys import fingerprint, generate_key_pair, public_key_of
from deconflict.channel.parties import Party, check_party_name
from deconflict.channel.service.parties import add_party, revoke_party_token, rotate_party_token
from deconflict.config import Settings, is_database_url, load_settings
from deconflict.errors import AlreadyExistsError, InputError, Problem
from deconflict.strategic.conflicts import format_time

__all__ = ["existing_settings_for", "require_database", "run_party", "settings_for", "write_new"]


def settings_for(db: str | None) -> Settings:
    """Settings from the environment, with ``--db`` taking precedence (a file, or a ``postgresql://`` URL)."""
    if db is None:
        return load_settings()
    return load_settings(db_url=db) if is_database_url(db) else load_settings(db_path=Path(db))


_REPLACE_HINT = "it is replaced only with --force"


def require_database(path: Path) -> None:
    """Refuse a database file that does not exist: a mistyped ``--db`` must not open an empty channel.

    Raises
    ------
    InputError
        Naming the file.
    """
    if not path.is_file():
        what = "is not a file" if path.exists() else "no such database file"
        raise InputError(
            [
                Problem(
                    str(path),
                    f"{what} (a new channel is created by `deconflict party add` "
                    "or `deconflict serve --init`)",
                )
            ]
        )


def existing_settings_for(db: str | None) -> Settings:
    """:func:`settings_for`, for a command that reads an existing channel: the file must exist."""
    settings = settings_for(db)
    if settings.db_url is None:  # a PostgreSQL database is checked when it is opened
        require_database(settings.db_path)
    return settings


def _write_private_key(path: Path, pem: bytes) -> None:
    """Write a private key readable by its owner only; never replace an existing file."""
    write_new(path, pem, 0o600, hint="choose another file with --key-out (it is never replaced)")


def write_new(path: Path, data: bytes, mode: int, force: bool = False, hint: str = _REPLACE_HINT) -> None:
    """Write ``data`` to ``path`` with ``mode``; an existing file is replaced only with ``force``.

    A replacement is written beside the file and renamed over it, so the file
    is never half-written and never readable by others, even for a moment.
    """
    if not force:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            raise InputError([Problem(str(path), f"exists already: {hint}")]) from None
        except OSError as exc:
            raise InputError([Problem(str(path), f"cannot create: {exc.strerror or exc}")]) from exc
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return
    temporary = path.with_name(f".{path.name}.new")
    try:
        temporary.unlink(missing_ok=True)
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError([Problem(str(path), f"cannot write: {exc.strerror or exc}")]) from exc


def _keygen(args: argparse.Namespace) -> int:
    name = check_party_name(args.name)
    folder = Path(args.out).resolve()
    private_path = folder / f"{name}.ed25519.pem"
    public_path = folder / f"{name}.ed25519.pub.pem"
    if not args.force:
        taken = [p for p in (private_path, public_path) if p.exists()]
        if taken:
            raise InputError([Problem(str(p), f"exists already: {_REPLACE_HINT}") for p in taken])
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError([Problem(str(folder), f"cannot create: {exc.strerror or exc}")]) from exc
    private_pem, public_pem = generate_key_pair()
    write_new(private_path, private_pem, 0o600, args.force)
    write_new(public_path, public_pem, 0o644, args.force)
    print(f"private key: {private_path}")
    print("  Ed25519, mode 0600: it signs your messages; keep it, never send it to anyone")
    print(f"public key: {public_path}")
    print(f"  send it to the channel operator, who registers it: party add {name} --public-key FILE")
    print(f"fingerprint: {fingerprint(public_pem)}")
    print("  read it to the operator over a channel you trust; it must match what `party add` prints")
    return 0


def _add(args: argparse.Namespace) -> int:
    name = check_party_name(args.name)
    from deconflict.storage import open_storage

    with open_storage(settings_for(args.db)) as storage:
        if storage.parties.get_party(name) is not None:
            raise AlreadyExistsError(f"party {name!r} already exists (names are never reused)")
        key_path: Path | None = None
        if args.public_key is not None:
            try:
                given = Path(args.public_key).read_bytes()
            except OSError as exc:
                raise InputError([Problem(args.public_key, f"cannot read: {exc.strerror or exc}")]) from exc
            public_pem = public_key_of(given, source=args.public_key)
        else:
            # Write the private key before registering, so a party never exists without one.
            private_pem, public_pem = generate_key_pair()
            key_path = Path(args.key_out or f"{name}.ed25519.pem").resolve()
            _write_private_key(key_path, private_pem)
        try:
            # The party and its entry commit together.
            registration = add_party(storage.parties, storage.audit, name, public_pem, time.time())
        except BaseException:
            if key_path is not None:
                key_path.unlink(missing_ok=True)
            raise
    print(f"party {name!r} added")
    print(f"token: {registration.token}")
    print("  shown only now: hand it to the party's operations centre; the server keeps only its hash")
    if key_path is not None:
        print(f"private key: {key_path}")
        print(
            "  Ed25519, mode 0600: the party keeps it and signs with it; the server has the public key only"
        )
    else:
        print(f"public key: registered from {args.public_key}")
    print(f"fingerprint: {fingerprint(public_pem)}")
    return 0


def _state(party: Party) -> str:
    return "active" if party.revoked_s is None else f"revoked {format_time(party.revoked_s)}"


def _list(args: argparse.Namespace) -> int:
    from deconflict.storage import open_storage

    with open_storage(existing_settings_for(args.db)) as storage:
        listed = storage.parties.list_parties()
    if args.json:
        document = [
            {
                "name": p.name,
                "active": p.is_active,
                "created": format_time(p.created_s),
                "revoked": None if p.revoked_s is None else format_time(p.revoked_s),
            }
            for p in listed
        ]
        print(json.dumps({"parties": document}, indent=2))
        return 0
    if not listed:
        print("no parties")
        return 0
    width = max(len(p.name) for p in listed)
    print(f"{'NAME':<{width}}  {'CREATED':<24}  STATE")
    for p in listed:
        print(f"{p.name:<{width}}  {format_time(p.created_s):<24}  {_state(p)}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from deconflict.storage import open_storage

    with open_storage(existing_settings_for(args.db)) as storage:
        party = revoke_party_token(storage.parties, storage.audit, args.name, time.time())
    print(f"party {party.name!r} {_state(party)}: its token is no longer accepted")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from deconflict.storage import open_storage

    now_s = time.time()
    with open_storage(existing_settings_for(args.db)) as storage:
        rotation = rotate_party_token(storage.parties, storage.audit, args.name, now_s, args.grace_s)
    print(f"party {args.name!r}: new token: {rotation.token}")
    print("  shown only now: hand it to the party's operations centre; the server keeps only its hash")
    print(f"the previous token is accepted until {format_time(rotation.previous_until_s)}, then refused")
    return 0


def run_party(args: argparse.Namespace) -> int:
    """Run ``deconflict party ACTION``; errors propagate to :func:`deconflict.cli.main`."""
    actions = {"add": _add, "keygen": _keygen, "list": _list, "revoke": _revoke, "rotate": _rotate}
    return actions[args.party_command](args)
