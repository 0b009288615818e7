"""The channel between parties: parties and credentials, plans, minimal disclosure.

The domain of the channel service; it knows nothing of HTTP or of a database
(storage implements :class:`~deconflict.channel.parties.PartyStore`).
"""

from deconflict.channel.disclosure import ConflictView, conflict_view
from deconflict.channel.parties import (
    Party,
    PartyStore,
    Registration,
    authenticate,
    check_party_name,
    register_party,
    revoke_party,
)
from deconflict.channel.plans import plan_volumes

__all__ = [
    "ConflictView",
    "Party",
    "PartyStore",
    "Registration",
    "authenticate",
    "check_party_name",
    "conflict_view",
    "plan_volumes",
    "register_party",
    "revoke_party",
]
