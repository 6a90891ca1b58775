"""RecentIds: a set that keeps only the ids added last."""

from __future__ import annotations

import pytest

from alphaforge.core.recent import RecentIds


def test_keeps_the_last_ids_and_forgets_the_oldest() -> None:
    ids = RecentIds(["a", "b"], cap=3)
    ids.add("c")
    ids.add("a")  # already held: nothing moves
    assert list(ids) == ["a", "b", "c"] and "a" in ids
    ids.update(["d", "e"])
    assert list(ids) == ["c", "d", "e"] and len(ids) == 3
    assert "a" not in ids and "b" not in ids


def test_a_smaller_cap_applies_at_the_next_add() -> None:
    ids = RecentIds(str(k) for k in range(10))
    ids.cap = 4
    ids.add("x")
    assert list(ids) == ["7", "8", "9", "x"]


def test_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cap"):
        RecentIds(cap=0)
