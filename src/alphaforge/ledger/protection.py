"""The protection a position holds at the venue, read from the ledger's working orders.

Protective orders are recorded with intent ``stop`` in two shapes:

* the runtime's own order for a held position: its stop level in ``stop``, its target in
  ``take_profit`` (a pair: one cancels the other at the venue);
* a leg the venue made of a bracket entry, recorded as an order of its own: a stop order (its
  level in ``stop``, and on the simulated venue its pair's target in ``limit``), or a limit
  order that is the target (its level in ``limit``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from alphaforge.ledger.rows import OrderRow, PositionRow

__all__ = ["HeldProtection", "held_protection", "protective_levels"]


def protective_levels(o: OrderRow) -> tuple[Decimal | None, Decimal | None]:
    """(stop, target) of a protective order; (None, None) for any other order."""
    if o.intent != "stop":
        return None, None
    return o.stop, (o.limit if o.limit is not None else o.take_profit)


@dataclass(frozen=True, slots=True)
class HeldProtection:
    """The levels that would close a position first: the tightest of its working stops (the
    highest under a long, the lowest over a short) and the nearest target; None where no
    working order holds one."""

    stop: Decimal | None = None
    target: Decimal | None = None


def held_protection(
    positions: Iterable[PositionRow], orders: Iterable[OrderRow]
) -> dict[tuple[str, str], HeldProtection]:
    """(strategy, symbol) -> the protection its working (not terminal) protective orders hold
    at the venue, for each of ``positions``; ``orders`` are the run's working orders."""
    stops: dict[tuple[str, str], list[Decimal]] = {}
    targets: dict[tuple[str, str], list[Decimal]] = {}
    for o in orders:
        stop, target = protective_levels(o)
        key = (o.strategy, o.symbol)
        if stop is not None:
            stops.setdefault(key, []).append(stop)
        if target is not None:
            targets.setdefault(key, []).append(target)
    out = {}
    for p in positions:
        key = (p.strategy, p.symbol)
        long = p.qty > 0
        s, t = stops.get(key), targets.get(key)
        out[key] = HeldProtection(
            stop=None if not s else (max(s) if long else min(s)),
            target=None if not t else (min(t) if long else max(t)),
        )
    return out
