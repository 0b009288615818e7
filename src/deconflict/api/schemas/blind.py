"""Bodies of ``/v1/blind``: the relay's view of a blind session (who, public parameters, phases posted)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from deconflict.channel.blind_relay import RelaySession

__all__ = ["BlindPostedOut", "BlindSessionIn", "BlindSessionOut"]


class BlindSessionIn(BaseModel):
    """A new blind session: its id, the other party, and the public parameters both agreed."""

    session: str = Field(min_length=1, max_length=128, description="the session id (in the parameters too)")
    peer: str = Field(min_length=1, description="the other party")
    parameters: str = Field(
        min_length=1,
        max_length=4096,
        description="the agreed public parameters as the initiator states them (GridParameters.describe())",
    )


class BlindPostedOut(BaseModel):
    """One message the relay holds: who posted it and its phase (never its content)."""

    sender: str
    phase: str


class BlindSessionOut(BaseModel):
    """A blind session as the relay knows it."""

    session: str
    initiator: str
    peer: str
    parameters: str
    started_s: float
    posted: list[BlindPostedOut]

    @classmethod
    def of(cls, session: RelaySession) -> BlindSessionOut:
        return cls(
            session=session.session_id,
            initiator=session.initiator,
            peer=session.peer,
            parameters=session.parameters,
            started_s=session.started_s,
            posted=[BlindPostedOut(sender=s, phase=p) for s, p in session.posted],
        )
