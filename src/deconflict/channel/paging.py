"""Pages of a listing in its own order, by keyset: ``limit`` items after (or before) a known one.

A listing pages by the position of an item in it (its key: an incident's row
id, an alert's number), never by an offset, so items added or removed between
two requests neither repeat nor go missing across pages. The key itself never
leaves the service: the API hands out the item's public id as an opaque
cursor and decodes it back (:mod:`deconflict.channel.public_ids`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page", "page_by_key", "page_of"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items in the listing's order, and whether the listing goes on either side.

    Attributes
    ----------
    items
        At most the page's limit, in the listing's order.
    more_before, more_after
        Whether items come before the first (after the last) of the page.
    """

    items: tuple[T, ...]
    more_before: bool
    more_after: bool


def page_of(
    items: Sequence[T],
    key: Callable[[T], int],
    limit: int,
    after: int | None = None,
    before: int | None = None,
) -> Page[T]:
    """The page of ``items`` (sorted by ``key``, ascending): the first ``limit`` after ``after``, or the
    last ``limit`` before ``before``, or the first ``limit`` of all.

    Examples
    --------
    >>> numbers = [1, 3, 5, 7, 9]
    >>> page_of(numbers, int, 2)
    Page(items=(1, 3), more_before=False, more_after=True)
    >>> page_of(numbers, int, 2, after=3)
    Page(items=(5, 7), more_before=True, more_after=True)
    >>> page_of(numbers, int, 2, before=5)
    Page(items=(1, 3), more_before=False, more_after=True)
    >>> page_of(numbers, int, 10, after=9)
    Page(items=(), more_before=True, more_after=False)
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if after is not None and before is not None:
        raise ValueError("after and before are exclusive")
    keys = [key(item) for item in items]
    if before is not None:
        stop = bisect.bisect_left(keys, before)
        start = max(0, stop - limit)
    else:
        start = 0 if after is None else bisect.bisect_right(keys, after)
        stop = min(len(keys), start + limit)
    return Page(tuple(items[start:stop]), start > 0, stop < len(keys))


def page_by_key(
    fetch: Callable[[str, int, int], Sequence[T]],
    exists: Callable[[str, int], bool],
    key: Callable[[T], int],
    limit: int,
    after: int | None = None,
    before: int | None = None,
) -> Page[T]:
    """The page :func:`page_of` gives, of a listing too long to hold (a table, by its key).

    ``fetch(op, bound, count)`` gives at most ``count`` items whose key stands ``op`` (``"<"`` or
    ``">"``) of ``bound``, nearest first; ``exists(op, edge)`` whether any item's key stands so.
    Keys are above 0.

    Examples
    --------
    >>> numbers = [1, 3, 5, 7, 9]
    >>> def fetch(op, bound, count):
    ...     return ([n for n in numbers if n > bound] if op == ">" else
    ...             [n for n in reversed(numbers) if n < bound])[:count]
    >>> def exists(op, edge):
    ...     return bool(fetch(op, edge, 1))
    >>> page_by_key(fetch, exists, int, 2, after=3)
    Page(items=(5, 7), more_before=True, more_after=True)
    >>> page_by_key(fetch, exists, int, 2, before=5)
    Page(items=(1, 3), more_before=False, more_after=True)
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if before is not None:
        found = list(fetch("<", before, limit + 1))
        more_before = len(found) > limit
        found = found[:limit][::-1]
        edge = key(found[-1]) if found else before - 1
        return Page(tuple(found), more_before, exists(">", edge))
    start = 0 if after is None else after
    found = list(fetch(">", start, limit + 1))
    more_after = len(found) > limit
    found = found[:limit]
    edge = key(found[0]) if found else start + 1
    return Page(tuple(found), exists("<", edge), more_after)
