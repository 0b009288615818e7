"""The ids a party is shown: a keyed permutation of the channel's row ids, one per kind.

Conflicts, messages, incidents, alerts and events (the outbox's rows, pushed on
``/v1/events``) are numbered by counters the whole channel shares. Shown as they
are, a party reading the gaps between the ids it is given would count what the
others did, and when. So every id a party sees is the row id put through a
keyed pseudo-random permutation (a four-round Feistel network over 52 bits,
BLAKE2b keyed with the database's secret as the round function), one
permutation per kind: consecutive rows get unrelated ids, and the gaps between
them carry no count.

- Public ids are positive integers up to ``2**52``, exact as JavaScript
  numbers (the web map reads them from JSON); alerts keep their form ``a-<n>``.
- A public id decodes back to its row id (paths, the ``before`` cursor, the last
  event id an events connection resumes from); an id that is no row's, or not a
  number at all, decodes to :data:`NO_ROW`, which every store answers as
  missing: the same 404 as any other unknown id (and, to resume events, the same
  answer as an id too old to resume from).
- The secret is the database's (created with it, kept in it, copied by its
  backups), so ids are the same after a restart or a restore. Whoever holds
  the database holds the row ids anyway: the secret hides nothing from them.

The order of public ids means nothing: listings keep the row order, events come in it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["ID_BITS", "MAX_PUBLIC_ID", "NO_ROW", "IdKind", "PublicIds", "new_secret"]

ID_BITS = 52
"""Row ids and public ids below ``2**ID_BITS`` (public ids are shifted by one: 1 to ``2**52``)."""

MAX_PUBLIC_ID = 1 << ID_BITS
"""The largest public id, exact as a JavaScript number (below ``2**53``)."""

NO_ROW = 0
"""The row id an undecodable public id decodes to: no row has it (row ids start at 1)."""

_HALF_BITS = ID_BITS // 2
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 4
_SECRET_BYTES = 32
_REMEMBERED = 1 << 19
"""Public ids kept once worked out (some 60 MiB at most): a dense cycle shows each party ~100,000
alerts, each needing its id again every cycle it changes, and each id is four keyed hashes."""


class IdKind(StrEnum):
    """What an id numbers; each kind has its own permutation (equal row ids give unrelated public ids)."""

    CONFLICT = "conflict"
    MESSAGE = "message"
    INCIDENT = "incident"
    ALERT = "alert"
    EVENT = "event"


def new_secret() -> bytes:
    """A fresh random secret for a new database."""
    return secrets.token_bytes(_SECRET_BYTES)


# Row ids inside the texts a party reads: "conflict:12", "conflict:7,9" (a probe
# alarm's reason), "alert:a-3", "a-3" (an alert), "i-5" (an incident).
_REF = re.compile(r"^(?:(conflict|message|incident):([0-9,]+)|(alert:)?a-([0-9]+)|i-([0-9]+))$")


@dataclass(frozen=True)
class PublicIds:
    """The permutations of one database.

    Examples
    --------
    >>> ids = PublicIds(b"0" * 32)
    >>> public = ids.public(IdKind.MESSAGE, 1)
    >>> ids.row(IdKind.MESSAGE, public)
    1
    >>> 1 <= public <= MAX_PUBLIC_ID
    True
    >>> ids.row(IdKind.MESSAGE, "not an id"), ids.row(IdKind.MESSAGE, MAX_PUBLIC_ID + 1)
    (0, 0)
    >>> ids.ref("a-1") == f"a-{ids.public(IdKind.ALERT, 1)}"
    True
    """

    secret: bytes
    _known: dict[tuple[IdKind, int], int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError(f"a public id secret needs 16 bytes at least, got {len(self.secret)}")

    def _round(self, kind: IdKind, number: int, half: int) -> int:
        digest = hashlib.blake2b(
            half.to_bytes(4, "big") + bytes([number]),
            digest_size=8,
            key=self.secret[:64],
            person=kind.value.encode()[:16],
        ).digest()
        return int.from_bytes(digest, "big") & _HALF_MASK

    def public(self, kind: IdKind, row: int) -> int:
        """The public id of row ``row`` (1 to ``2**52 - 1``), between 1 and :data:`MAX_PUBLIC_ID`."""
        known = self._known.get((kind, row))
        if known is not None:
            return known
        if not 0 < row < MAX_PUBLIC_ID:
            raise ValueError(f"{kind} row id {row} is outside 1 to 2**{ID_BITS} - 1")
        left, right = row >> _HALF_BITS, row & _HALF_MASK
        for number in range(_ROUNDS):
            left, right = right, left ^ self._round(kind, number, right)
        public = ((left << _HALF_BITS) | right) + 1
        if len(self._known) >= _REMEMBERED:
            self._known.clear()  # the next cycles' ids fill it again
        self._known[(kind, row)] = public
        return public

    def row(self, kind: IdKind, public: int | str) -> int:
        """The row id of a public id given as a number or text; :data:`NO_ROW` for anything else."""
        if isinstance(public, str):
            text = public.strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 17):
                return NO_ROW
            public = int(text)
        if not 1 <= public <= MAX_PUBLIC_ID:
            return NO_ROW
        value = public - 1
        left, right = value >> _HALF_BITS, value & _HALF_MASK
        for number in reversed(range(_ROUNDS)):
            left, right = right ^ self._round(kind, number, left), left
        return (left << _HALF_BITS) | right

    def ref(self, text: str) -> str:
        """A reference a party reads, with the row ids in it made public.

        ``conflict:<ids>`` (comma-separated), ``message:<id>``, ``incident:<id>``,
        ``alert:a-<n>``, ``a-<n>`` and ``i-<id>``; any other text is returned as it is.

        >>> ids = PublicIds(b"0" * 32)
        >>> ids.ref("sweep:5 aircraft"), ids.ref("conflict:1,2") == (
        ...     f"conflict:{ids.public(IdKind.CONFLICT, 1)},{ids.public(IdKind.CONFLICT, 2)}")
        ('sweep:5 aircraft', True)
        """
        found = _REF.match(text)
        if found is None:
            return text
        noun, numbers, alert_prefix, alert_number, incident_number = found.groups()
        if noun is not None:
            kind = IdKind(noun)
            if not all(n.isdigit() for n in numbers.split(",")):
                return text
            return f"{noun}:" + ",".join(str(self.public(kind, int(n))) for n in numbers.split(","))
        if alert_number is not None:
            return f"{alert_prefix or ''}a-{self.public(IdKind.ALERT, int(alert_number))}"
        return f"i-{self.public(IdKind.INCIDENT, int(incident_number))}"
