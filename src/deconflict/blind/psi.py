"""Private set intersection by Diffie-Hellman over ristretto255 (libsodium, through rbcl).

Each party hashes its cells, with the session id, to group elements ``H(x)`` and
raises them to a fresh secret scalar ``a`` (``a H(x)``); the other party raises what
it receives to its own scalar ``b`` and sends it back in the same order, so the
first party holds ``b a H(x)`` for each of its own cells and ``a b H(y)`` for each
of the other's (it raised the other's blinded set to ``a`` itself). Equal values
are shared cells. Under the decisional Diffie-Hellman assumption a blinded value
is indistinguishable from a random element, so padding with random elements
hides how many cells a party has.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Sequence

import numpy as np
import rbcl
from numpy.typing import NDArray

from deconflict.errors import BlindSessionError

__all__ = [
    "ELEMENT_BYTES",
    "blind",
    "hash_cells",
    "join_elements",
    "new_scalar",
    "pad_and_shuffle",
    "split_elements",
]

ELEMENT_BYTES = 32
"""Bytes of one encoded ristretto255 element."""

_CELL_DOMAIN = b"deconflict/blind/cell/v1\x00"


def hash_cells(cells: NDArray[np.int64], session_id: str) -> list[bytes]:
    """Each cell row (column, row, slot, band) hashed with the session id to a group element.

    Examples
    --------
    >>> a = hash_cells(np.array([[1, 2, 3, 4]]), "s-1")
    >>> a == hash_cells(np.array([[1, 2, 3, 4]]), "s-1"), a == hash_cells(np.array([[1, 2, 3, 4]]), "s-2")
    (True, False)
    """
    prefix = _CELL_DOMAIN + session_id.encode("ascii") + b"\x00"
    return [
        rbcl.crypto_core_ristretto255_from_hash(hashlib.sha512(prefix + struct.pack(">4q", *row)).digest())
        for row in np.asarray(cells, dtype=np.int64).tolist()
    ]


def new_scalar() -> bytes:
    """A fresh secret scalar, never zero (libsodium's uniform random scalar)."""
    return bytes(rbcl.crypto_core_ristretto255_scalar_random())


def blind(elements: Sequence[bytes], scalar: bytes) -> list[bytes]:
    """Every element raised to ``scalar``, in order.

    Raises
    ------
    BlindSessionError
        If an element is not a valid encoding, or the result is the identity.
    """
    out = []
    for element in elements:
        try:
            out.append(bytes(rbcl.crypto_scalarmult_ristretto255(scalar, element)))
        except (ValueError, TypeError, RuntimeError) as exc:
            raise BlindSessionError(
                f"an element is not a valid group element ({type(exc).__name__})"
            ) from exc
    return out


def pad_and_shuffle(elements: Sequence[bytes], cap: int) -> tuple[list[bytes], NDArray[np.int64]]:
    """``elements`` with random group elements added up to ``cap``, in a random order.

    Returns the padded list and where each input element went (``positions[i]`` is
    the index of ``elements[i]``).

    Raises
    ------
    BlindSessionError
        If there are more elements than ``cap``.
    """
    if len(elements) > cap:
        raise BlindSessionError(f"{len(elements)} elements exceed the session's cap of {cap}")
    padded = list(elements) + [
        bytes(rbcl.crypto_core_ristretto255_random()) for _ in range(cap - len(elements))
    ]
    order = list(range(cap))
    secrets.SystemRandom().shuffle(order)
    shuffled = [padded[k] for k in order]
    positions = np.empty(cap, dtype=np.int64)
    positions[np.asarray(order, dtype=np.int64)] = np.arange(cap, dtype=np.int64)
    return shuffled, positions[: len(elements)]


def join_elements(elements: Sequence[bytes]) -> bytes:
    """The elements concatenated (each :data:`ELEMENT_BYTES` long)."""
    return b"".join(elements)


def split_elements(blob: bytes, count: int, what: str) -> list[bytes]:
    """``count`` distinct valid group elements from their concatenation.

    Raises
    ------
    BlindSessionError
        If the length is not exactly ``count`` elements (truncated or padded), an
        element is not a valid encoding, or two are equal (a tampered set).
    """
    if len(blob) != count * ELEMENT_BYTES:
        raise BlindSessionError(f"{what}: expected {count} elements, got {len(blob)} bytes")
    elements = [blob[k : k + ELEMENT_BYTES] for k in range(0, len(blob), ELEMENT_BYTES)]
    if not all(rbcl.crypto_core_ristretto255_is_valid_point(e) for e in elements):
        raise BlindSessionError(f"{what}: an element is not a valid group element")
    if len(set(elements)) != len(elements):
        raise BlindSessionError(f"{what}: repeated elements")
    return elements
