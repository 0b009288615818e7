"""Opening feed files: plain or gzip text, with read errors that name the file."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deconflict.errors import InputError, Problem

__all__ = ["head_bytes", "head_text", "open_binary", "open_text"]

READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError)


@contextmanager
def open_text(path: Path) -> Iterator[io.TextIOBase]:
    """The file as text (UTF-8, gzip when it ends in ``.gz``); an unreadable one raises
    :class:`~deconflict.errors.InputError` naming it. Bytes that are not UTF-8 are replaced
    (a receiver's capture can hold garbage; the readers drop those lines and count them)."""
    try:
        raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
        with io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as stream:
            yield stream
    except READ_ERRORS as exc:
        raise InputError([Problem(str(path), f"cannot read the file: {exc}")]) from None


@contextmanager
def open_binary(path: Path) -> Iterator[io.BufferedIOBase]:
    """The file's bytes (gunzipped when it ends in ``.gz``); read errors raise
    :class:`~deconflict.errors.InputError` naming it."""
    try:
        raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
        with raw as stream:
            yield stream
    except READ_ERRORS as exc:
        raise InputError([Problem(str(path), f"cannot read the file: {exc}")]) from None


def head_text(path: Path, size: int = 4096) -> str:
    """The first ``size`` characters of the file (for format detection)."""
    with open_text(path) as stream:
        return stream.read(size)


def head_bytes(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of the file (gunzipped; for format detection)."""
    with open_binary(path) as stream:
        return stream.read(size)
