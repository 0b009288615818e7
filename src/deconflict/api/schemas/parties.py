"""Bodies of ``/v1/parties``: a party's public facts and its directory entry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from deconflict.channel.parties import Party
from deconflict.strategic.conflicts import format_time

__all__ = ["PartyDirectoryOut", "PartyOut"]


class PartyOut(BaseModel):
    """A party's public facts."""

    model_config = ConfigDict(frozen=True)

    name: str
    public_key_pem: str
    created: str

    @classmethod
    def of(cls, party: Party) -> PartyOut:
        """The response body of a party."""
        return cls(name=party.name, public_key_pem=party.public_key_pem, created=format_time(party.created_s))


class PartyDirectoryOut(BaseModel):
    """A party as every other party may see it: what its messages verify against."""

    model_config = ConfigDict(frozen=True)

    name: str
    public_key_pem: str
    revoked: bool = Field(description="its token is revoked: it sends nothing new")

    @classmethod
    def of(cls, party: Party) -> PartyDirectoryOut:
        """The directory entry of a party."""
        return cls(name=party.name, public_key_pem=party.public_key_pem, revoked=party.revoked_s is not None)
