"""Pending entries: market ones at the open (or close), limit / stop ones from the bar's range,
in priority order, each sized and then held to the portfolio limits."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tests.reference.costs import commission, slippage
from tests.reference.exits import LevelInputs, set_levels, stop_distance
from tests.reference.limits import Book, cap_increase
from tests.reference.orders import Entry, stop_reached, trigger_price
from tests.reference.sizing import NeedsStop, entry_quantity, kelly_fraction

if TYPE_CHECKING:
    from tests.reference.simulator import Run

NAN = math.nan


def _candidates(run: Run, t: int, prices: list[float], market: bool) -> list[int]:
    out = []
    for j, e in run.book.entries.items():
        if math.isnan(prices[j]) or e.is_market != market or (not market and e.signal_bar >= t):
            continue
        q = run.account.qty(j)
        if q != 0.0 and not (e.rest > 0.0 and (q > 0) == (e.direction > 0)):
            continue
        out.append(j)
    out.sort(key=lambda j: (-run.priority(run.book.entries[j].signal_bar, j), j))
    return out


def enter(run: Run, t: int, prices: list[float], market: bool) -> set[int]:
    """Fill the pending entries of one kind; returns the symbols that opened a position."""
    cands = _candidates(run, t, prices, market)
    opened: set[int] = set()
    if not cands:
        return opened
    book = Book(*run.account.marks(prices, run.last_px), n_open=len(run.account.positions))
    for j in cands:
        e = run.book.entries[j]
        raw = prices[j]
        if not market:
            raw = trigger_price(e, raw, run.m.high[t][j], run.m.low[t][j])
            if math.isnan(raw):
                if stop_reached(e, run.m.high[t][j], run.m.low[t][j]):
                    e.stop = NAN  # a triggered stop-limit rests as a limit order
                continue
        if _fill_one(run, t, j, e, raw, book, prices, market):
            opened.add(j)
    return opened


def _fill_one(
    run: Run, t: int, j: int, e: Entry, raw: float, book: Book, prices: list[float], market: bool
) -> bool:
    """Size, limit and fill entry ``e`` at ``raw``; True when it opened a position."""
    cfg, d = run.cfg, e.direction
    block = run.risk.blocked(t)
    limit = cfg.risk.max_positions
    if block is None and e.rest == 0.0 and limit and book.n_open >= limit:
        block = "max_positions"
    if block is not None:
        return _reject(run, t, j, e, block)
    slip = slippage(cfg.costs, raw, run.atr(e.signal_bar, j))
    px = raw + d * slip
    inputs = _level_inputs(run, e.signal_bar, j)
    if e.rest > 0.0:
        qty = e.rest
    else:
        qty_or_none = _size(run, book, e, j, px, inputs)
        if qty_or_none is None:
            return _reject(run, t, j, e, "risk_sizing_without_stop")
        sector = sector_value(run, prices, j)
        qty, reason = cap_increase(
            cfg, book, d, qty_or_none, px, 0.0, sector, cfg.sizing.method == "all_in", px
        )
        if qty <= 0.0:
            return _reject(run, t, j, e, reason)
    fill = run.capped(qty, run.m.volume[t][j]) if market else qty
    if fill <= 0.0:
        return False
    was_flat = run.account.qty(j) == 0.0
    run.account.fill(j, t, d * fill, raw, slip, "entry", qty)
    if was_flat:
        set_levels(cfg, run.account.positions[j], inputs, book.equity)
        book.n_open += 1
    if fill < qty:
        e.rest = qty - fill
    else:
        del run.book.entries[j]
    book.gross += fill * raw  # new shares count at the bar's price, as held ones do
    book.net += d * fill * raw
    book.equity -= commission(cfg.costs, fill, px) + fill * slip
    return was_flat


def _reject(run: Run, t: int, j: int, e: Entry, reason: str) -> bool:
    run.account.reject(j, t, e.direction, reason)
    del run.book.entries[j]
    return False


def _level_inputs(run: Run, sb: int, j: int) -> LevelInputs:
    s = run.strat
    sl = getattr(s, "stop_loss", None)
    tp = getattr(s, "take_profit", None)
    return LevelInputs(
        stop_price=sl[sb][j] if sl is not None else NAN,
        target_price=tp[sb][j] if tp is not None else NAN,
        atr=run.atr(sb, j),
    )


def _size(run: Run, book: Book, e: Entry, j: int, px: float, inputs: LevelInputs) -> float | None:
    cfg = run.cfg
    kelly = 0.0
    if cfg.sizing.method == "kelly":
        kelly = kelly_fraction(cfg.sizing, [tr.ret for tr in run.account.trades])
    lev = cfg.risk.max_gross_leverage or 1.0
    avail = lev * book.equity - book.gross - cfg.risk.min_cash * book.equity
    if e.direction < 0:
        avail /= max(1.0, cfg.costs.margin)
    vol = run.vol[e.signal_bar][j] if run.vol is not None else NAN
    try:
        return entry_quantity(
            cfg.sizing,
            cfg.costs,
            px,
            book.equity,
            avail,
            stop_distance(cfg, inputs, px),
            vol,
            kelly,
        )
    except NeedsStop:
        return None


def sector_value(run: Run, prices: list[float], j: int) -> float:
    """Value held in symbol ``j``'s sector (each symbol is its own sector without a map)."""
    sectors = run.cfg.risk.sectors
    total = 0.0
    for k, pos in run.account.positions.items():
        if k == j or (sectors is not None and sectors[k] == sectors[j]):
            m = prices[k] if not math.isnan(prices[k]) else run.last_px[k]
            total += abs(pos.qty * m)
    return total
