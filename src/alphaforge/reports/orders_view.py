"""The tear sheet's Rejected orders section: counts by reason and the first rejected orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

MAX_REJECTED_ROWS = 200  # rows of the table; the counts cover every rejected order

# what each rejection reason means, for the table's tooltips
REASON_HELP = {
    "insufficient_cash": "not enough cash (or buying power) left for the order",
    "max_positions": "risk.max_positions open positions already",
    "max_weight": "the position would exceed risk.max_weight",
    "max_sector_exposure": "the sector would exceed risk.max_sector_exposure",
    "max_leverage": "gross or net exposure would exceed the leverage limit",
    "min_cash_reserve": "the order would eat into risk.min_cash_reserve",
    "daily_loss_limit": "entries blocked for the day by the daily loss limit",
    "weekly_loss_limit": "entries blocked for the week by the weekly loss limit",
    "halted_by_drawdown": "entries halted by the drawdown breaker",
    "size_rounds_to_zero": "the size rounded to zero shares",
    "risk_sizing_without_stop": "risk sizing needs a stop-loss, the signal had none",
    "no_price": "the symbol had no price on the fill bar",
}


@dataclass(frozen=True)
class Rejections:
    """Rejected orders of a result: total, counts by reason and the first rows."""

    total_orders: int
    count: int
    by_reason: list[tuple[str, int, str]]  # (reason, count, meaning)
    rows: list[dict[str, str]]

    @property
    def summary(self) -> str:
        reasons = ", ".join(f"{r} {n:,}" for r, n, _ in self.by_reason)
        return f"{self.count:,} of {self.total_orders:,} orders rejected: {reasons}"


def rejections(
    orders: pd.DataFrame, index: pd.DatetimeIndex, intraday: bool, limit: int = MAX_REJECTED_ROWS
) -> Rejections:
    """The rejected orders among ``orders`` (``BacktestResult.orders`` on bars ``index``), most
    frequent reason first; ``rows`` holds the first ``limit`` in time order with their bar
    number (0 = the first bar)."""
    if len(orders) == 0:
        return Rejections(0, 0, [], [])
    rej = orders[orders["status"] == "rejected"].sort_values("time", kind="stable")
    counts = rej["reason"].value_counts(sort=False)
    by_reason = sorted(
        ((str(r), int(n), REASON_HELP.get(str(r), "")) for r, n in counts.items()),
        key=lambda x: (-x[1], x[0]),
    )
    fmt = "%Y-%m-%d %H:%M" if intraday else "%Y-%m-%d"
    head = rej.head(limit)
    bars = index.get_indexer(pd.DatetimeIndex(head["time"]))
    rows = [
        {
            "bar": f"{int(b):,}",
            "time": f"{pd.Timestamp(o['time']):{fmt}}",
            "symbol": str(o["symbol"]),
            "side": str(o["side"]),
            "requested": _quantity(o["requested"]),
            "reason": str(o["reason"]),
        }
        for o, b in zip(head.to_dict("records"), bars, strict=True)
    ]
    return Rejections(len(orders), len(rej), by_reason, rows)


def _quantity(value: Any) -> str:
    """A requested quantity; ``—`` when the order was to be sized at the fill (0 or NaN)."""
    x = float(value)
    return f"{x:,.4g}" if x == x and x != 0 else "—"
