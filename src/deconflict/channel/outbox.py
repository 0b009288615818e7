"""The event outbox: every party event stored, numbered, in the transaction of the fact it reports.

An event (:class:`~deconflict.channel.events.Event`) is written to the outbox by
the same transaction that stores what it reports (the conflict, the message, the
acknowledgement, the escalation, the cycle's alerts and incidents, the comment,
the probe alarm), so a fact is never stored without its event nor an event
without its fact. The outbox numbers events in commit order, 1, 2, ... per
database (gaps allowed: a rolled-back transaction may use a number): the
``id`` of every frame, which a client is shown through a keyed permutation
(:mod:`deconflict.channel.public_ids`: one counter numbers every party's events,
so the numbers themselves would count the others') and gives back to resume
(:meth:`EventOutbox.since`). Numbers grow in commit order because writers are
serialised (SQLite's one writer; PostgreSQL's writer lock), so whatever a reader
sees of the outbox is every event up to some number.

Once the transaction commits, the outbox hands the numbered events to whoever
delivers them (:meth:`EventOutbox.record`'s ``then``): the node's own bus, or
the relay that publishes them to the other nodes.

Events are stored as JSON (:func:`encode_subject`, :func:`decode_subject`): the
subject's fields as they are, so a replayed event is the same as a live one.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.events import Event, EventKind, EventOutbox, EventSubject, OperationNotice
from deconflict.channel.ledger import LedgerEntry
from deconflict.channel.live import AlertBatch, CommentNotice, IncidentBatch
from deconflict.channel.messages import Message

__all__ = [
    "SUBJECT_TYPES",
    "EventOutbox",
    "decode_event",
    "decode_subject",
    "encode_subject",
]

SUBJECT_TYPES: Mapping[EventKind, type[EventSubject]] = {
    EventKind.CONFLICT: ConflictView,
    EventKind.MESSAGE: Message,
    EventKind.ACKNOWLEDGEMENT: Message,
    EventKind.DEADLINE_PASSED: Message,
    EventKind.ESCALATION: Escalation,
    EventKind.ALERTS: AlertBatch,
    EventKind.INCIDENT: IncidentBatch,
    EventKind.INCIDENT_COMMENT: CommentNotice,
    EventKind.PROBE_ALARM: LedgerEntry,
    EventKind.OPERATION: OperationNotice,
}
"""The subject's type of each kind of event."""


def _as_is(value: Any) -> Any:
    return value


def _number(value: float) -> float | msgspec.Raw:
    # msgspec writes NaN and infinities as null; the outbox keeps them as json.dumps writes them.
    return value if value - value == 0.0 else msgspec.Raw(json.dumps(value).encode())


def _float_of(value: float) -> float | msgspec.Raw:
    return _number(float(value))  # a float subclass (numpy's) as the float it is


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _items(value: tuple[Any, ...] | list[Any]) -> list[Any]:
    return [_plain(v) for v in value]


def _entries(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in value.items()}


def _fields_of(kind: type) -> Callable[[Any], dict[str, Any]]:
    names = tuple(f.name for f in dataclasses.fields(kind))
    return lambda value: {name: _plain(getattr(value, name)) for name in names}


def _converter(kind: type) -> Callable[[Any], Any]:
    """How :func:`_plain` turns a value of type ``kind`` into JSON values."""
    if dataclasses.is_dataclass(kind):
        return _fields_of(kind)
    if issubclass(kind, enum.Enum):
        return _enum_value
    if issubclass(kind, float):
        return _float_of
    if issubclass(kind, str):
        return str  # msgspec takes no subclass of str or int but enums (json.dumps took them)
    if issubclass(kind, int) and kind is not bool:
        return int
    if issubclass(kind, tuple | list):
        return _items
    if issubclass(kind, Mapping):
        return _entries
    return _as_is


# By type, found once: a dense cycle's alerts event holds some 100,000 views, and asking each value
# what it is (dataclass? enum? ...) was most of the cost of storing it.
_CONVERTERS: dict[type, Callable[[Any], Any]] = {str: _as_is, int: _as_is, float: _number, type(None): _as_is}


def _plain(value: Any) -> Any:
    """``value`` as JSON values: dataclasses as objects of their fields, enums as their values."""
    kind = type(value)
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _CONVERTERS[kind] = _converter(kind)
    return convert(value)


def _alert_batch_text(batch: AlertBatch) -> str | None:
    """``batch`` as JSON, its dataclasses written by msgspec itself; ``None`` where that would differ.

    A dense cycle's ``alerts`` events hold 160,000 views: msgspec writes them
    three times as fast as :func:`_plain` and msgspec after it, and the same
    text but for numbers that are not finite (it writes ``null``, and the
    outbox keeps them as :mod:`json` writes them: these batches are left to
    :func:`_plain`); a type msgspec does not take (numpy's floats) raises.
    """
    if not batch.numbers_finite():
        return None
    try:
        return _ENCODER.encode(batch).decode()
    except (TypeError, UnicodeEncodeError, OverflowError):
        return None


def encode_subject(subject: EventSubject) -> str:
    """The subject of an event as JSON text (its fields, nested; enums as values).

    >>> from deconflict.channel.deadlines import Escalation
    >>> encode_subject(Escalation(7, "REQUEST_CLARIFICATION", "blue", "red", 0, 10.0, 11.5))
    '{"message_id":7,"code":"REQUEST_CLARIFICATION","sender":"blue","recipient":"red","step":0,"due_s":10.0,"recorded_s":11.5}'
    """
    if type(subject) is AlertBatch:
        text = _alert_batch_text(subject)
        if text is not None:
            return text
    plain = _plain(subject)
    try:
        return _ENCODER.encode(plain).decode()
    except (TypeError, UnicodeEncodeError):  # a lone surrogate, a type of its own: as json.dumps does
        return json.dumps(plain, separators=(",", ":"), ensure_ascii=False, default=_raw_number)


def _raw_number(value: Any) -> float:
    if isinstance(value, msgspec.Raw):
        return float(bytes(value))
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = msgspec.json.Encoder()


@functools.cache
def _init_fields(kind: type) -> dict[str, Any]:
    """The types of a dataclass's ``__init__`` fields, by name (resolving them costs more than decoding)."""
    hints = typing.get_type_hints(kind)
    return {f.name: hints[f.name] for f in dataclasses.fields(kind) if f.init}


def _typed(kind: Any, value: Any) -> Any:
    """``value`` (JSON) as the type ``kind`` (a dataclass, enum, tuple, optional or plain type)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            return None
        if len(arms) != 1:
            raise TypeError(f"cannot decode a value of the union {kind}")
        return _typed(arms[0], value)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], v) for v in value)
        return tuple(_typed(a, v) for a, v in zip(args, value, strict=True))
    if origin is not None:  # Mapping[str, Any] and the like: JSON as it is
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        fields = _init_fields(kind)
        return kind(**{name: _typed(fields[name], v) for name, v in value.items() if name in fields})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if kind is float and isinstance(value, int):
        return float(value)
    return value


def decode_subject(kind: EventKind, text: str) -> EventSubject:
    """The subject of an event of ``kind`` from :func:`encode_subject`'s text.

    >>> from deconflict.channel.deadlines import Escalation
    >>> step = Escalation(7, "REQUEST_CLARIFICATION", "blue", "red", 0, 10.0, 11.5)
    >>> decode_subject(EventKind.ESCALATION, encode_subject(step)) == step
    True
    """
    subject: EventSubject = _typed(SUBJECT_TYPES[kind], json.loads(text))
    return subject


def decode_event(event_id: int, kind: str, party: str, text: str) -> Event:
    """An outbox row as the event it stores."""
    event_kind = EventKind(kind)
    return Event(event_kind, party, decode_subject(event_kind, text), event_id)
