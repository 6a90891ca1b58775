"""A set that remembers only its most recent members, so that a long run's memory stays flat.

The trading runtime checks ids it has seen before (client order ids already sent, fill ids
already recorded) against ids that can only come back soon after they were first seen: a
client order id names the bar it was decided at (:func:`~alphaforge.core.orders.client_order_id`)
and a venue's stream repeats recent fills, not old ones. Keeping every id of a run would grow
with its orders and fills; :class:`RecentIds` keeps the last ``cap`` and forgets the oldest.
The ledger keeps every id; these sets only spare it the look-ups.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

__all__ = ["RecentIds"]


class RecentIds:
    """The ids added last, at most ``cap`` of them: adding one more forgets the oldest (see the
    module docstring). Adding an id already held changes nothing."""

    __slots__ = ("_ids", "_order", "cap")

    def __init__(self, ids: Iterable[str] = (), cap: int = 10_000) -> None:
        if cap < 1:
            raise ValueError(f"RecentIds: cap must be at least 1 (got {cap})")
        self.cap = cap
        self._ids: set[str] = set()
        self._order: deque[str] = deque()  # oldest first
        self.update(ids)

    def add(self, key: str) -> None:
        if key in self._ids:
            return
        self._ids.add(key)
        self._order.append(key)
        while len(self._order) > self.cap:
            self._ids.discard(self._order.popleft())

    def update(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        """Oldest first."""
        return iter(self._order)

    def __repr__(self) -> str:
        return f"RecentIds({len(self)} of at most {self.cap})"
