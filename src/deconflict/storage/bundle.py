"""What both backends' :class:`~deconflict.channel.stores.Storage` bundles share: opening every store
on one database, all or none, and closing them together.

A bundle opens its stores in :func:`opening`: should one fail to open, those
already open and the bundle's reference to the database are closed again.
:class:`StorageBundle` closes the stores, then the database (which closes with
its last user).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol, Self, TypeVar

__all__ = ["Closable", "StorageBundle", "StoreOpener", "opening"]


class Closable(Protocol):
    """A store, or the database they share."""

    def close(self) -> None: ...


_D = TypeVar("_D", bound=Closable)
_D_co = TypeVar("_D_co", bound=Closable, covariant=True)
_S = TypeVar("_S", bound=Closable)


class StoreOpener(Protocol[_D_co]):
    """Opens one store (``kind(database)``) and closes it again should the bundle fail to open."""

    def __call__(self, kind: Callable[[_D_co], _S], /) -> _S: ...


@contextlib.contextmanager
def opening(database: _D) -> Iterator[StoreOpener[_D]]:
    """Open stores on ``database`` (its caller's reference is the bundle's); on an exception,
    close every store opened and the database, on success keep them all open."""
    with contextlib.ExitStack() as opened:
        opened.callback(database.close)  # the bundle's own reference, kept on success

        def store(kind: Callable[[_D], _S], /) -> _S:
            made = kind(database)  # each store takes its own reference to the database
            opened.callback(made.close)
            return made

        yield store
        opened.pop_all()


_CLOSING_ORDER = (
    "blind",
    "zones",
    "outbox",
    "ledger",
    "incidents",
    "conflict_states",
    "audit",
    "messages",
    "parties",
    "operations",
)
"""The stores of a bundle, in the order they are closed (the reverse of the order they open)."""


class StorageBundle:
    """The closing of a bundle (a dataclass with ``database`` and a field per store)."""

    database: Closable

    def close(self) -> None:
        """Close every store, then the database (which closes with its last user)."""
        for name in _CLOSING_ORDER:
            store: Closable = getattr(self, name)
            store.close()
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
