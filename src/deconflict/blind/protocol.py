"""One party's side of a blind session: three messages each way, signed and sealed.

The phases, in order (each party sends each once):

``hello``
    The party's fresh X25519 public key for this session and the SHA-256 of the
    session's parameters (:meth:`GridParameters.describe`), signed with its Ed25519
    party key. Not encrypted: it holds nothing about the plan.
``blinded``
    Its cover, hashed and blinded (``a H(x)``), padded to the cap and shuffled.
``reblinded``
    The other party's ``blinded`` set raised to its own scalar, in the order received.

Every message names the session, the phase, the sender and the recipient; an
Ed25519 signature covers those and the SHA-256 of the body. ``blinded`` and
``reblinded`` bodies are sealed with ChaCha20-Poly1305 under a key for that
direction only, derived by HKDF-SHA256 from the X25519 agreement of the two
``hello`` keys (salted with the parameters' hash), the header as associated data.
The server relaying them sees the header, sizes (fixed by the cap) and ciphertext.

Anything unexpected (a bad signature, a failed seal, another session, a phase
out of turn or seen twice, a wrong length, invalid or repeated elements, other
parameters) raises :class:`~deconflict.errors.BlindSessionError` and the party
object refuses to go on: a session never ends in "no conflicts" after a fault.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from numpy.typing import NDArray

from deconflict.blind.cover import Cover
from deconflict.blind.grid import GridParameters
from deconflict.blind.psi import blind, hash_cells, join_elements, new_scalar, pad_and_shuffle, split_elements
from deconflict.errors import BlindSessionError

__all__ = ["BlindParty", "BlindResult", "Envelope", "Phase"]

_VERSION = 1
_SIGN_DOMAIN = b"deconflict/blind/message/v1\x00"
_KEY_DOMAIN = b"deconflict/blind/key/v1\x00"
_NONCE_BYTES = 12


class Phase(StrEnum):
    """The three messages each party sends, in order."""

    HELLO = "hello"
    BLINDED = "blinded"
    REBLINDED = "reblinded"


@dataclass(frozen=True)
class Envelope:
    """One message as it travels: a header in clear, an opaque body, a signature.

    ``body`` is the hello's key and parameter hash, or nonce and ciphertext.
    """

    session_id: str
    phase: Phase
    sender: str
    recipient: str
    body: bytes
    signature: bytes

    def header(self) -> bytes:
        """The bytes that bind a body to its session, phase, sender and recipient."""
        fields = [str(_VERSION), self.session_id, self.phase.value, self.sender, self.recipient]
        return _SIGN_DOMAIN + "\x00".join(fields).encode("utf-8")

    def signed_bytes(self) -> bytes:
        """What the signature covers: the header and the body's SHA-256."""
        return self.header() + b"\x00" + hashlib.sha256(self.body).digest()

    def to_json(self) -> dict[str, Any]:
        """The envelope as JSON (bytes in base64)."""
        return {
            "v": _VERSION,
            "session": self.session_id,
            "phase": self.phase.value,
            "from": self.sender,
            "to": self.recipient,
            "body": base64.b64encode(self.body).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes of :meth:`to_json`."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_json(cls, data: object) -> Envelope:
        """Read an envelope; any malformation raises :class:`BlindSessionError`."""
        try:
            if isinstance(data, bytes | str):
                data = json.loads(data)
            if not isinstance(data, dict) or data.get("v") != _VERSION:
                raise ValueError("not a version 1 envelope")
            fields = [data["session"], data["phase"], data["from"], data["to"]]
            if not all(isinstance(f, str) for f in fields):
                raise ValueError("header fields must be strings")
            return cls(
                session_id=data["session"],
                phase=Phase(data["phase"]),
                sender=data["from"],
                recipient=data["to"],
                body=base64.b64decode(data["body"], validate=True),
                signature=base64.b64decode(data["signature"], validate=True),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BlindSessionError(f"malformed message ({exc})") from exc


@dataclass(frozen=True, eq=False)
class BlindResult:
    """What a party learns: which of its own cells and volumes the other party's cover meets.

    Attributes
    ----------
    cells
        (n, 4) rows of the party's own cells that the other party also covers.
    volumes
        Sorted indices (into the party's own volumes) of the volumes owning them.
    """

    cells: NDArray[np.int64]
    volumes: NDArray[np.int64]


def _direction_key(shared: bytes, params: GridParameters, sender: str, recipient: str) -> bytes:
    salt = hashlib.sha256(params.describe().encode("ascii")).digest()
    info = _KEY_DOMAIN + f"{params.session_id}\x00{sender}\x00{recipient}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(shared)


class BlindParty:
    """One party's state in one blind session (never reused for another).

    Parameters
    ----------
    params
        The agreed grid; its ``describe()`` must match the other party's.
    me, peer
        Party names, as the channel knows them.
    signing_key, peer_key
        This party's Ed25519 private key; the other party's Ed25519 public key.
    cover
        This party's cover (:func:`~deconflict.blind.cover.cover_volumes`), at most ``cap`` cells.

    Examples
    --------
    A whole session between two parties, in memory:

    >>> from deconflict.blind.cover import Cover
    >>> params = GridParameters("doc", 1.0, 3600.0, 1000.0, cap=4)
    >>> def cover(rows):
    ...     cells = np.array(rows, dtype=np.int64)
    ...     return Cover(cells, np.arange(len(rows) + 1), np.arange(len(rows)))
    >>> ka, kb = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    >>> a = BlindParty(params, "blue", "red", ka, kb.public_key(), cover([[1, 1, 1, 1], [2, 2, 2, 2]]))
    >>> b = BlindParty(params, "red", "blue", kb, ka.public_key(), cover([[2, 2, 2, 2], [3, 3, 3, 3]]))
    >>> a.receive(b.hello()); b.receive(a.hello())
    >>> a.receive(b.blinded()); b.receive(a.blinded())
    >>> ra = a.receive(b.reblinded()); rb = b.receive(a.reblinded())
    >>> ra.cells.tolist(), rb.cells.tolist(), ra.volumes.tolist(), rb.volumes.tolist()
    ([[2, 2, 2, 2]], [[2, 2, 2, 2]], [1], [0])
    """

    def __init__(
        self,
        params: GridParameters,
        me: str,
        peer: str,
        signing_key: Ed25519PrivateKey,
        peer_key: Ed25519PublicKey,
        cover: Cover,
    ) -> None:
        if me == peer:
            raise BlindSessionError("a blind session needs two different parties")
        if cover.cells.shape[0] > params.cap:
            raise BlindSessionError(
                f"the cover has {cover.cells.shape[0]} cells, more than the session's cap of {params.cap}"
            )
        self.params = params
        self.me = me
        self.peer = peer
        self._signing_key = signing_key
        self._peer_key = peer_key
        self._cover = cover
        self._exchange = X25519PrivateKey.generate()
        self._scalar = new_scalar()
        self._sent: set[Phase] = set()
        self._received: set[Phase] = set()
        self._send_key: bytes | None = None
        self._receive_key: bytes | None = None
        self._positions: NDArray[np.int64] | None = None
        self._peer_blinded: list[bytes] | None = None
        self._peer_double: set[bytes] | None = None
        self._failed: str | None = None
        self.result: BlindResult | None = None

    @property
    def failed(self) -> str | None:
        """Why the session was aborted, or ``None``."""
        return self._failed

    # --- sending -------------------------------------------------------------------------

    def _params_hash(self) -> bytes:
        return hashlib.sha256(self.params.describe().encode("ascii")).digest()

    def _envelope(self, phase: Phase, body: bytes) -> Envelope:
        self._check_alive()
        if phase in self._sent:
            raise BlindSessionError(f"{phase.value}: already sent")
        unsigned = Envelope(self.params.session_id, phase, self.me, self.peer, body, b"")
        signature = self._signing_key.sign(unsigned.signed_bytes())
        self._sent.add(phase)
        return Envelope(self.params.session_id, phase, self.me, self.peer, body, signature)

    def _seal(self, phase: Phase, plaintext: bytes) -> Envelope:
        if self._send_key is None:
            raise BlindSessionError(f"{phase.value}: the other party's hello has not arrived")
        nonce = secrets.token_bytes(_NONCE_BYTES)
        header = Envelope(self.params.session_id, phase, self.me, self.peer, b"", b"").header()
        sealed = ChaCha20Poly1305(self._send_key).encrypt(nonce, plaintext, header)
        return self._envelope(phase, nonce + sealed)

    def hello(self) -> Envelope:
        """The first message: this session's X25519 key and the parameters' hash, signed."""
        key = self._exchange.public_key().public_bytes_raw()
        return self._envelope(Phase.HELLO, key + self._params_hash())

    def blinded(self) -> Envelope:
        """This party's cover, hashed, blinded, padded to the cap, shuffled and sealed."""
        blinded = blind(hash_cells(self._cover.cells, self.params.session_id), self._scalar)
        shuffled, self._positions = pad_and_shuffle(blinded, self.params.cap)
        return self._seal(Phase.BLINDED, join_elements(shuffled))

    def reblinded(self) -> Envelope:
        """The other party's blinded set raised to this party's scalar, in its order, sealed."""
        if self._peer_blinded is None:
            raise BlindSessionError("reblinded: the other party's blinded set has not arrived")
        return self._seal(Phase.REBLINDED, join_elements(self._peer_blinded))

    # --- receiving -----------------------------------------------------------------------

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise BlindSessionError(f"the session was aborted: {self._failed}")

    def receive(self, message: Envelope | bytes | dict[str, Any]) -> BlindResult | None:
        """Take the other party's next message; the result once its ``reblinded`` arrives.

        Raises
        ------
        BlindSessionError
            On any fault; the session is then aborted for good.
        """
        self._check_alive()
        try:
            envelope = message if isinstance(message, Envelope) else Envelope.from_json(message)
            return self._receive(envelope)
        except BlindSessionError as exc:
            self._failed = str(exc)
            self._wipe()
            raise

    def _wipe(self) -> None:
        self.result = None
        self._peer_double = None
        self._peer_blinded = None

    def _expected(self) -> Phase:
        for phase in Phase:
            if phase not in self._received:
                return phase
        raise BlindSessionError("a message after the session's last one")

    def _receive(self, envelope: Envelope) -> BlindResult | None:
        phase = self._expected()
        where = f"{envelope.phase.value} from {envelope.sender!r}"
        if envelope.session_id != self.params.session_id:
            raise BlindSessionError(f"{where}: belongs to another session")
        if envelope.sender != self.peer or envelope.recipient != self.me:
            raise BlindSessionError(f"{where}: not from {self.peer!r} to {self.me!r}")
        if envelope.phase is not phase:
            raise BlindSessionError(f"{where}: expected {phase.value} (replayed or out of turn)")
        try:
            self._peer_key.verify(envelope.signature, envelope.signed_bytes())
        except InvalidSignature as exc:
            raise BlindSessionError(
                f"{where}: bad signature (altered, or not signed by {self.peer!r})"
            ) from exc
        self._received.add(phase)
        if phase is Phase.HELLO:
            self._receive_hello(envelope, where)
            return None
        plaintext = self._open(envelope, where)
        count = self.params.cap
        if phase is Phase.BLINDED:
            # Raised to this party's scalar at once: what it sends back, and what it matches against.
            self._peer_blinded = blind(split_elements(plaintext, count, where), self._scalar)
            self._peer_double = set(self._peer_blinded)
            return None
        double = split_elements(plaintext, count, where)
        if self._positions is None or self._peer_double is None:
            raise BlindSessionError(
                f"{where}: arrived before this party sent its own blinded and reblinded sets"
            )
        own = [double[p] for p in self._positions.tolist()]
        rows = np.asarray([r for r, value in enumerate(own) if value in self._peer_double], dtype=np.int64)
        self.result = BlindResult(self._cover.cells[rows], self._cover.volumes_of(rows))
        return self.result

    def _receive_hello(self, envelope: Envelope, where: str) -> None:
        if len(envelope.body) != 64:
            raise BlindSessionError(f"{where}: expected 64 bytes, got {len(envelope.body)}")
        if not secrets.compare_digest(envelope.body[32:], self._params_hash()):
            raise BlindSessionError(f"{where}: the parties' session parameters differ")
        try:
            shared = self._exchange.exchange(X25519PublicKey.from_public_bytes(envelope.body[:32]))
        except ValueError as exc:
            raise BlindSessionError(f"{where}: unusable key ({exc})") from exc
        self._send_key = _direction_key(shared, self.params, self.me, self.peer)
        self._receive_key = _direction_key(shared, self.params, self.peer, self.me)

    def _open(self, envelope: Envelope, where: str) -> bytes:
        assert self._receive_key is not None  # hello is always received first
        body = envelope.body
        if len(body) < _NONCE_BYTES + 16:
            raise BlindSessionError(f"{where}: truncated")
        header = Envelope(envelope.session_id, envelope.phase, envelope.sender, envelope.recipient, b"", b"")
        try:
            return ChaCha20Poly1305(self._receive_key).decrypt(
                body[:_NONCE_BYTES], body[_NONCE_BYTES:], header.header()
            )
        except InvalidTag as exc:
            raise BlindSessionError(
                f"{where}: does not open (altered, or sealed for another session)"
            ) from exc
