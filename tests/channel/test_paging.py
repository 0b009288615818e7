"""page_by_key (a listing fetched by key) gives the pages page_of gives of the whole listing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deconflict.channel.paging import page_by_key, page_of

KEYS = st.lists(st.integers(1, 60), unique=True).map(sorted)


@given(
    keys=KEYS,
    limit=st.integers(1, 8),
    side=st.sampled_from(["first", "after", "before"]),
    at=st.integers(0, 62),
)
def test_page_by_key_pages_as_page_of(keys: list[int], limit: int, side: str, at: int) -> None:
    calls: list[tuple[str, int]] = []

    def fetch(op: str, bound: int, count: int) -> list[int]:
        calls.append((op, count))
        found = [k for k in keys if k > bound] if op == ">" else [k for k in reversed(keys) if k < bound]
        return found[:count]

    def exists(op: str, edge: int) -> bool:
        return any(k > edge if op == ">" else k < edge for k in keys)

    after = at if side == "after" else None
    before = at if side == "before" else None
    assert page_by_key(fetch, exists, int, limit, after, before) == page_of(keys, int, limit, after, before)
    assert calls == [("<" if before is not None else ">", limit + 1)]  # one fetch, one item beyond the page


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        page_by_key(lambda op, bound, count: [], lambda op, edge: False, int, 0)
