"""Positions and round trips from fills, matched first in, first out per (strategy, symbol).

Pure functions on :class:`~alphaforge.ledger.rows.FillRow` values, in ``Decimal``. A fill
against the open lots closes them oldest first; what is left of it opens a lot the other way
(a reversal). The units one order closes form one round trip (its fills merge while nothing
else happens to the position in between); fees are shared out per unit, so a fill that both
closes and opens pays the closed units' share into the round trip and the rest into the new lot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from alphaforge.ledger.rows import FillRow, PositionRow, TradeRow

__all__ = ["match_fills"]

ZERO = Decimal(0)
PLACES = Decimal("1e-10")


@dataclass
class _Lot:
    sign: int
    qty: Decimal  # units still open
    price: Decimal
    fee_per_unit: Decimal
    ts: str


@dataclass
class _Trade:
    """A round trip being accumulated from the closing fills of one order."""

    order: int
    strategy: str
    symbol: str
    sign: int  # of the position closed
    client_id: str
    entry_ts: str
    exit_ts: str = ""
    qty: Decimal = ZERO
    entry_value: Decimal = ZERO
    exit_value: Decimal = ZERO
    pnl: Decimal = ZERO
    fees: Decimal = ZERO

    def row(self, reason: str) -> TradeRow:
        return TradeRow(
            strategy=self.strategy,
            symbol=self.symbol,
            side="long" if self.sign > 0 else "short",
            qty=self.qty,
            entry_ts=self.entry_ts,
            exit_ts=self.exit_ts,
            entry_price=(self.entry_value / self.qty).quantize(PLACES),
            exit_price=(self.exit_value / self.qty).quantize(PLACES),
            pnl=(self.pnl - self.fees).quantize(PLACES),
            fees=self.fees.quantize(PLACES),
            exit_reason=reason,
            exit_client_id=self.client_id,
        )


@dataclass
class _Book:
    lots: deque[_Lot] = field(default_factory=deque)
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    trade: _Trade | None = None


@dataclass
class _Matcher:
    books: dict[tuple[str, str], _Book] = field(default_factory=dict)
    done: list[_Trade] = field(default_factory=list)
    count: int = 0

    def add(self, fill: FillRow) -> None:
        book = self.books.setdefault((fill.strategy, fill.symbol), _Book())
        book.fees += fill.fee
        sign = 1 if fill.side == "buy" else -1
        fee_per_unit = fill.fee / fill.qty if fill.qty else ZERO
        left = fill.qty
        if book.lots and book.lots[0].sign != sign:
            left = self._close(book, fill, sign, fee_per_unit)
        if left > 0:
            self._finish(book)
            book.lots.append(_Lot(sign, left, fill.price, fee_per_unit, fill.ts))

    def _close(self, book: _Book, fill: FillRow, sign: int, fee_per_unit: Decimal) -> Decimal:
        trade = book.trade
        if trade is None or trade.client_id != fill.client_id or trade.sign == sign:
            self._finish(book)
            self.count += 1
            trade = _Trade(
                self.count, fill.strategy, fill.symbol, -sign, fill.client_id, book.lots[0].ts
            )
            book.trade = trade
        left = fill.qty
        while left > 0 and book.lots:
            lot = book.lots[0]
            take = min(left, lot.qty)
            gross = (fill.price - lot.price) * take * lot.sign
            trade.qty += take
            trade.entry_value += lot.price * take
            trade.exit_value += fill.price * take
            trade.pnl += gross
            trade.fees += (lot.fee_per_unit + fee_per_unit) * take
            book.realized += gross
            lot.qty -= take
            left -= take
            if lot.qty == 0:
                book.lots.popleft()
        trade.exit_ts = fill.ts
        if not book.lots:
            self._finish(book)
        return left

    def _finish(self, book: _Book) -> None:
        if book.trade is not None:
            self.done.append(book.trade)
            book.trade = None

    def positions(self) -> list[PositionRow]:
        out = []
        for (strategy, symbol), book in self.books.items():
            units = sum((lot.qty for lot in book.lots), ZERO)
            if units == 0:
                continue
            value = sum((lot.qty * lot.price for lot in book.lots), ZERO)
            out.append(
                PositionRow(
                    strategy=strategy,
                    symbol=symbol,
                    qty=units * book.lots[0].sign,
                    avg_price=(value / units).quantize(PLACES),
                    realized_pnl=book.realized.quantize(PLACES),
                    fees=book.fees.quantize(PLACES),
                )
            )
        return sorted(out, key=lambda p: (p.strategy, p.symbol))


def match_fills(
    fills: Iterable[FillRow], reasons: Mapping[str, str] | None = None
) -> tuple[list[PositionRow], list[TradeRow]]:
    """Open positions and closed round trips of ``fills`` (oldest first).

    Parameters
    ----------
    fills
        Executions in the order they happened.
    reasons
        The order reason by client id (the ``exit_reason`` of a round trip).

    Returns
    -------
    tuple of list[PositionRow] and list[TradeRow]
        Non-flat positions by (strategy, symbol); round trips in the order they were opened
        for closing.
    """
    matcher = _Matcher()
    for fill in fills:
        matcher.add(fill)
    for book in matcher.books.values():
        matcher._finish(book)
    reasons = reasons or {}
    trades = sorted(matcher.done, key=lambda t: t.order)
    return matcher.positions(), [t.row(reasons.get(t.client_id, "")) for t in trades]
