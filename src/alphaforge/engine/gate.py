"""The risk gate: an ordered chain of pre-trade checks, each refusing with a reason.

Sizing, buying power, the weight / sector / leverage caps, max positions and the loss limits
are decided by the simulation core's rules before an order exists (the stepper runs the
engine's own open phase), so they act identically in the backtest and here. The gate adds what
only a live account needs, in this order:

1. trading state: ``halted`` refuses everything but a flatten; ``reducing`` refuses any order
   that would increase exposure;
2. market open (when a clock is given);
3. price sanity: the price the order was sized with against the last trade, within a band;
4. max order value and max order quantity;
5. duplicate guard: a client order id already sent is never sent again. An id names the bar
   it was decided at (:func:`~alphaforge.core.orders.client_order_id`), so only the cycle of
   that bar can make it again: the gate remembers the last :data:`SENT_MEMORY` ids sent
   (at a start, the run's ids in the ledger), far more than one bar sends, and a long run's
   memory stays flat (:class:`~alphaforge.core.recent.RecentIds`).

A refusal is returned as a :class:`Verdict` with its reason and is recorded, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from alphaforge.core.orders import Intent, OrderRequest
from alphaforge.core.recent import RecentIds

SENT_MEMORY = 10_000  # client order ids the duplicate guard remembers (far above one bar's)


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"  # only orders that reduce exposure
    HALTED = "halted"  # nothing but a flatten


@dataclass(frozen=True)
class GateLimits:
    """Account-level limits of the runtime (0 = none)."""

    max_order_value: float = 0.0
    max_order_qty: float = 0.0
    price_band: float = 0.5  # |sizing price / last trade - 1| allowed


@dataclass(frozen=True)
class Verdict:
    ok: bool
    check: str = ""
    reason: str = ""


ACCEPT = Verdict(True)


@dataclass(frozen=True)
class OrderContext:
    """What the gate knows about an order besides the request itself."""

    price: float  # the price it was sized with
    last_trade: float  # the symbol's last trade (close) before it
    position: float  # signed quantity held before it
    market_open: bool = True


def reduces(req: OrderRequest, position: float) -> bool:
    """Whether the order only reduces the position (never past flat)."""
    if position == 0.0:
        return False
    return (position > 0) != (req.side.sign > 0) and req.qty <= abs(position) + 1e-9


Check = Callable[[OrderRequest, OrderContext], Verdict]


class RiskGate:
    """The ordered chain of pre-trade checks (see the module docstring)."""

    def __init__(self, limits: GateLimits, sent: Iterable[str]) -> None:
        self.limits = limits
        self.state = TradingState.ACTIVE
        # ids already sent (from the ledger on a restart); the order manager adds each new one
        self.sent = sent if isinstance(sent, RecentIds) else RecentIds(sent, SENT_MEMORY)
        self.refused = 0  # orders refused by this process (each is also a decision recorded)
        self.checks: tuple[tuple[str, Check], ...] = (
            ("trading_state", self._state),
            ("market_open", self._market),
            ("price_band", self._band),
            ("max_order_value", self._value),
            ("max_order_qty", self._qty),
            ("duplicate", self._duplicate),
        )

    def check(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        for name, fn in self.checks:
            v = fn(req, ctx)
            if not v.ok:
                self.refused += 1
                return Verdict(False, name, v.reason)
        return ACCEPT

    def _state(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        if self.state is TradingState.HALTED and req.intent is not Intent.FLATTEN:
            return Verdict(False, reason="trading is halted (alphaforge resume lifts it)")
        if self.state is TradingState.REDUCING and not reduces(req, ctx.position):
            return Verdict(False, reason="reducing: only orders that reduce exposure")
        return ACCEPT

    def _market(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        return ACCEPT if ctx.market_open else Verdict(False, reason="market closed")

    def _band(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        band = self.limits.price_band
        last = ctx.last_trade
        if band <= 0 or last != last or last <= 0 or reduces(req, ctx.position):
            return ACCEPT
        move = ctx.price / last - 1.0
        if abs(move) > band:
            return Verdict(
                False,
                reason=f"price {ctx.price:.4g} is {move:+.1%} from the last trade "
                f"{last:.4g} (band {band:.0%})",
            )
        return ACCEPT

    def _value(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        cap = self.limits.max_order_value
        value = req.qty * ctx.price
        if cap > 0 and value > cap and not reduces(req, ctx.position):
            return Verdict(
                False, reason=f"order value {value:,.2f} above max_order_value {cap:,.2f}"
            )
        return ACCEPT

    def _qty(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        cap = self.limits.max_order_qty
        if cap > 0 and req.qty > cap and not reduces(req, ctx.position):
            return Verdict(False, reason=f"quantity {req.qty:g} above max_order_qty {cap:g}")
        return ACCEPT

    def _duplicate(self, req: OrderRequest, ctx: OrderContext) -> Verdict:
        if req.client_id in self.sent:
            return Verdict(False, reason=f"client order id {req.client_id} was already sent")
        return ACCEPT
