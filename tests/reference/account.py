"""The cash account and its positions: fills, average-cost trades and fees."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tests.reference.costs import commission
from tests.reference.model import Costs
from tests.reference.records import Order, Trade

NAN = math.nan


@dataclass
class Position:
    """An open position; ``entry_price`` is the average fill price (slippage included)."""

    qty: float
    entry_price: float
    entry_bar: int
    fill_bar: int  # last bar that opened or added to it
    fees: float  # entry fees not yet attributed to a closed trade
    slip: float  # entry slippage (money) not yet attributed
    peak: float  # highest high seen since entry (starts at the fill price)
    trough: float
    stop: float = NAN
    target: float = NAN
    trail_pct: float = NAN
    trail_dist: float = NAN
    max_loss: float = NAN
    ambiguous: bool = False

    @property
    def direction(self) -> int:
        return 1 if self.qty > 0 else -1


class Account:
    """One cash account shared by every symbol."""

    def __init__(self, cash: float, costs: Costs) -> None:
        self.cash = cash
        self.costs = costs
        self.positions: dict[int, Position] = {}
        self.trades: list[Trade] = []
        self.orders: list[Order] = []

    def qty(self, j: int) -> float:
        p = self.positions.get(j)
        return p.qty if p is not None else 0.0

    def fill(
        self, j: int, t: int, delta: float, raw: float, slip: float, reason: str, want: float
    ) -> None:
        """Trade ``delta`` (signed, non-zero) of symbol ``j`` at ``raw`` moved by ``slip`` against
        the trader; ``want`` is the quantity the order asked for (more when capped)."""
        side = 1 if delta > 0 else -1
        fill = abs(delta)
        px = raw + side * slip
        fee = commission(self.costs, fill, px)
        pos = self.positions.get(j)
        if pos is not None and pos.direction != side:
            closed = min(fill, abs(pos.qty))
            close_fee = fee * closed / fill
            self._close_part(j, t, closed, px, close_fee, slip, reason)
            self.cash -= side * closed * px + close_fee
            rest = fill - closed
            if rest > 0.0:
                self._open(j, t, side * rest, px, fee - close_fee, slip)
                self.cash -= side * rest * px + (fee - close_fee)
        else:
            self._open(j, t, side * fill, px, fee, slip)
            self.cash -= side * fill * px + fee
        status = "filled" if fill >= want else "partial"
        self.orders.append(Order(t, j, side, fill, px, fee, status, reason, want))

    def reject(self, j: int, t: int, side: int, reason: str, requested: float = 0.0) -> None:
        self.orders.append(Order(t, j, side, 0.0, NAN, 0.0, "rejected", reason, requested))

    def expire(self, j: int, t: int, side: int) -> None:
        self.orders.append(Order(t, j, side, 0.0, NAN, 0.0, "expired", "entry", 0.0))

    def _open(self, j: int, t: int, delta: float, px: float, fee: float, slip: float) -> None:
        pos = self.positions.get(j)
        if pos is None:
            self.positions[j] = Position(
                qty=delta, entry_price=px, entry_bar=t, fill_bar=t, fees=fee,
                slip=slip * abs(delta), peak=px, trough=px,
            )  # fmt: skip
            return
        pos.entry_price = (pos.qty * pos.entry_price + delta * px) / (pos.qty + delta)
        pos.qty += delta
        pos.fees += fee
        pos.slip += slip * abs(delta)
        pos.fill_bar = t

    def _close_part(
        self, j: int, t: int, closed: float, px: float, fee: float, slip: float, reason: str
    ) -> None:
        pos = self.positions[j]
        share = closed / abs(pos.qty)
        entry_fee, entry_slip = pos.fees * share, pos.slip * share
        d, ep = pos.direction, pos.entry_price
        pnl = d * closed * (px - ep) - entry_fee - fee
        if d > 0:
            mae, mfe = pos.trough / ep - 1.0, pos.peak / ep - 1.0
        else:
            mae, mfe = 1.0 - pos.peak / ep, 1.0 - pos.trough / ep
        self.trades.append(
            Trade(
                symbol=j, direction=d, entry_bar=pos.entry_bar, exit_bar=t, entry_price=ep,
                exit_price=px, quantity=closed, fees=entry_fee + fee,
                slippage=entry_slip + slip * closed, pnl=pnl,
                ret=pnl / (closed * ep) if ep > 0 else NAN, mae=mae, mfe=mfe,
                bars_held=t - pos.entry_bar, exit_reason=reason, ambiguous=pos.ambiguous,
            )
        )  # fmt: skip
        pos.fees -= entry_fee
        pos.slip -= entry_slip
        pos.qty -= d * closed
        if pos.qty == 0.0:
            del self.positions[j]

    def close_at_end(self, t: int, last_px: list[float]) -> None:
        """Open positions at the end: trades closed at the last price, without an exit fee."""
        for j in sorted(self.positions):
            pos = self.positions[j]
            self._close_part(j, t, abs(pos.qty), last_px[j], 0.0, 0.0, "end_of_data")

    def marks(self, prices: list[float], last_px: list[float]) -> tuple[float, float, float]:
        """Equity, gross and net exposure with positions valued at ``prices`` (the last known
        price where a symbol has none)."""
        gross = net = 0.0
        for j, pos in self.positions.items():
            m = prices[j] if not math.isnan(prices[j]) else last_px[j]
            gross += abs(pos.qty * m)
            net += pos.qty * m
        return self.cash + net, gross, net
