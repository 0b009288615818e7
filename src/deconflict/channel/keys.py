"""Ed25519 keys of parties: generation and checking of PEM public keys."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.errors import InputError, Problem

__all__ = ["fingerprint", "generate_key_pair", "public_key_of"]


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair: (private key as unencrypted PKCS #8 PEM, public key PEM)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def public_key_of(pem: bytes, source: str) -> bytes:
    """The canonical SubjectPublicKeyInfo PEM of an Ed25519 public key given as PEM.

    Raises
    ------
    InputError
        If ``pem`` is not a PEM public key, or is a key of another algorithm.
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError([Problem(source, f"not a PEM public key ({exc})")]) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError([Problem(source, f"must be an Ed25519 key, got {type(key).__name__}")])
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public_pem: bytes, source: str = "public key") -> str:
    """``SHA256:`` and the unpadded base64 SHA-256 of the raw 32-byte Ed25519 public key.

    Short enough to read out over a telephone: the party and the channel operator
    compare it to be sure the key registered is the one the party made.

    Raises
    ------
    InputError
        If ``public_pem`` is not an Ed25519 PEM public key.

    Examples
    --------
    >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    >>> key = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    >>> pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    >>> fingerprint(pem)
    'SHA256:E545QOZLVJFyIIjZoNdBYo/IJuCUddNBp4Cs3jxLgHA'
    """
    key = serialization.load_pem_public_key(public_key_of(public_pem, source))
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode("ascii").rstrip("=")
