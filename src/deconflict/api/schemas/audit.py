"""Bodies of ``/v1/audit``: entries, links, pages, the server key and signed checkpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from deconflict.channel.audit import AuditEntry, ChainLink, Checkpoint, canonical_json
from deconflict.strategic.conflicts import format_time

__all__ = ["AuditEntryOut", "AuditHeadOut", "AuditKeyOut", "AuditLinkOut", "AuditViewOut"]


class AuditEntryOut(BaseModel):
    """An audit entry the caller may read: everything needed to recompute its hash and check its signature."""

    visible: Literal[True] = True
    seq: int
    time_s: float = Field(description="seconds since the epoch, exactly as hashed")
    time: str
    actor: str
    kind: str
    subject: list[str]
    audience: list[str] = Field(description="the parties that may read the entry")
    payload: dict[str, Any]
    prev_hash: str
    hash: str = Field(
        description="hex SHA-256 of the canonical JSON of the entry (see `deconflict.channel.audit`)"
    )
    signature: str = Field(description="base64 Ed25519 signature of the raw hash by the server key")

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        """The response body of a readable entry."""
        return cls(
            seq=entry.seq,
            time_s=entry.time_s,
            time=format_time(entry.time_s),
            actor=entry.actor,
            kind=entry.kind,
            subject=entry.subject,
            audience=entry.audience,
            payload=entry.payload,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
            signature=entry.signature,
        )

    def entry(self) -> AuditEntry:
        """The domain entry, with its JSON fields in canonical form (to verify it)."""
        return AuditEntry(
            seq=self.seq,
            time_s=self.time_s,
            actor=self.actor,
            kind=self.kind,
            subject_json=canonical_json(self.subject),
            audience_json=canonical_json(self.audience),
            payload_json=canonical_json(self.payload),
            prev_hash=self.prev_hash,
            hash=self.hash,
            signature=self.signature,
        )


class AuditLinkOut(BaseModel):
    """An entry the caller may not read: its place in the chain only, no time, actor, kind or payload."""

    visible: Literal[False] = False
    seq: int
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, link: ChainLink) -> AuditLinkOut:
        """The response body of an entry outside the caller's view."""
        return cls(seq=link.seq, prev_hash=link.prev_hash, hash=link.hash)

    def link(self) -> ChainLink:
        """The domain link."""
        return ChainLink(self.seq, self.prev_hash, self.hash)


class AuditViewOut(BaseModel):
    """A page of the audit chain as the caller sees it."""

    party: str
    public_key_pem: str = Field(description="the server's Ed25519 public key that signs the chain")
    entries: list[Annotated[AuditEntryOut | AuditLinkOut, Field(discriminator="visible")]]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


class AuditKeyOut(BaseModel):
    """The server's audit public key."""

    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key_pem: str


class AuditHeadOut(BaseModel):
    """A checkpoint: the chain's head signed by the server, a receipt a party keeps.

    The signature (base64 Ed25519, server key) covers the canonical JSON
    ``{"hash", "seq", "time_s", "type": "deconflict-audit-checkpoint"}``.
    """

    seq: int = Field(description="the last entry's seq (0: empty chain)")
    hash: str = Field(description="its hash (hex SHA-256)")
    time: str = Field(description="when the server signed it, RFC 3339")
    time_s: float = Field(description="the same, seconds since the Unix epoch (what is signed)")
    signature: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> AuditHeadOut:
        """The API view of a checkpoint."""
        return cls(
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            time=format_time(checkpoint.time_s),
            time_s=checkpoint.time_s,
            signature=checkpoint.signature,
        )
