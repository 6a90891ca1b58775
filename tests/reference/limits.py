"""Portfolio limits on a new or increased position: buying power (cash, gross leverage, cash
reserve, short margin), max weight, sector exposure and net leverage. Entries and target-weight
rebalances go through the same rules."""

from __future__ import annotations

from dataclasses import dataclass

from tests.reference.costs import affordable, whole
from tests.reference.model import RefConfig


@dataclass
class Book:
    """The account as the open phase sees it: equity and exposures at the bar's prices."""

    equity: float
    gross: float
    net: float
    n_open: int


def buying_power(cfg: RefConfig, book: Book, direction: int) -> tuple[float, float]:
    """Money available to a new position, with and without the cash reserve."""
    lev = cfg.risk.max_gross_leverage or 1.0
    free = lev * book.equity - book.gross
    bp = free - cfg.risk.min_cash * book.equity
    if direction < 0:
        free /= max(1.0, cfg.costs.margin)
        bp /= max(1.0, cfg.costs.margin)
    return bp, free


def cap_increase(
    cfg: RefConfig,
    book: Book,
    direction: int,
    qty: float,
    price: float,
    held_value: float,
    sector_value: float,
    all_in: bool,
    weight_price: float | None,
) -> tuple[float, str]:
    """Largest part of ``qty`` the limits allow at ``price`` and the limit that bound last.

    ``held_value``: the value already held in this symbol; ``sector_value``: the value held in
    its sector (this symbol included). An all-in quantity was sized from the buying power. The
    weight cap values the new shares at ``weight_price`` (None: no weight cap, as for a
    rebalance, whose target weights are clipped to the max weight when they are decided).
    """
    r, frac = cfg.risk, cfg.sizing.fractional
    reason = "size_rounds_to_zero"
    bp, free = buying_power(cfg, book, direction)
    cap = affordable(cfg.costs, frac, bp, price)
    if (not all_in and cap < qty) or (all_in and qty <= 0.0):
        reason = "max_leverage" if r.max_gross_leverage else "insufficient_cash"
        if r.min_cash > 0.0 and affordable(cfg.costs, frac, free, price) > cap:
            reason = "min_cash_reserve"
        qty = min(qty, cap)
    eq = book.equity
    if r.max_weight and weight_price is not None:
        wp = weight_price
        cap = whole(max(0.0, r.max_weight * eq - held_value) / wp, frac)
        if cap < qty:
            qty, reason = cap, "max_weight"
    if r.max_sector_exposure:
        cap = whole(max(0.0, r.max_sector_exposure * eq - sector_value) / price, frac)
        if cap < qty:
            qty, reason = cap, "max_sector_exposure"
    if r.max_net_leverage:
        cap = whole(max(0.0, r.max_net_leverage * eq - direction * book.net) / price, frac)
        if cap < qty:
            qty, reason = cap, "max_leverage"
    return qty, reason
