"""The channel between parties: parties and credentials, plans, minimal disclosure, the hotline.

The domain of the channel service; it knows nothing of HTTP or of a database
(storage implements :class:`~deconflict.channel.parties.PartyStore`,
:class:`~deconflict.channel.messages.MessageStore` and
:class:`~deconflict.channel.deadlines.DeadlineStore`).
"""

from deconflict.channel.catalogue import Catalogue, MessageKind, RenderedMessage, load_catalogue
from deconflict.channel.deadlines import (
    Clock,
    DeadlineStore,
    Escalation,
    HotlineStore,
    SystemClock,
    escalations_due,
    run_deadlines,
)
from deconflict.channel.disclosure import ConflictView, conflict_view
from deconflict.channel.events import Event, EventBus, EventKind, EventSink
from deconflict.channel.messages import (
    AckLevel,
    Message,
    MessageContent,
    MessageStore,
    acknowledge,
    canonical_bytes,
    fetch_box,
    read_message,
    send_message,
    sign_content,
    verify_signature,
)
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
    "AckLevel",
    "Catalogue",
    "Clock",
    "ConflictView",
    "DeadlineStore",
    "Escalation",
    "Event",
    "EventBus",
    "EventKind",
    "EventSink",
    "HotlineStore",
    "Message",
    "MessageContent",
    "MessageKind",
    "MessageStore",
    "Party",
    "PartyStore",
    "Registration",
    "RenderedMessage",
    "SystemClock",
    "acknowledge",
    "authenticate",
    "canonical_bytes",
    "check_party_name",
    "conflict_view",
    "escalations_due",
    "fetch_box",
    "load_catalogue",
    "plan_volumes",
    "read_message",
    "register_party",
    "revoke_party",
    "run_deadlines",
    "send_message",
    "sign_content",
    "verify_signature",
]
