"""Numba helpers of the simulation kernel: fills and the records they leave.

A fill changes one :data:`~alphaforge.sim.records.POSITION` row and the account's cash and
writes an :data:`~alphaforge.sim.records.ORDER` record; a reduction also writes a
:data:`~alphaforge.sim.records.TRADE` record (average-cost basis). Record buffers are sized by
the caller and never grown here: a full buffer sets the overflow counter and the caller reruns.
"""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.codes import STATUS_FILLED, STATUS_PARTIAL
from alphaforge.sim.kernels_rules import commission_nb, participation_nb
from alphaforge.sim.records import Records, SettingsRecord

configure_cache()


@helper_njit
def add_order_nb(
    rec: Records,
    t: int,
    j: int,
    side: float,
    qty: float,
    price: float,
    fee: float,
    status: int,
    reason: int,
    requested: float,
) -> None:
    """Append an order record (filled, partial, rejected or expired)."""
    c = rec.cnt[0]
    n = c.orders
    if n >= rec.orders.shape[0]:
        c.overflow = True  # the caller reruns with more room
        return
    o = rec.orders[n]
    o.bar = t
    o.symbol = j
    o.side = 1 if side > 0 else -1
    o.qty = qty
    o.price = price
    o.fee = fee
    o.status = status
    o.reason = reason
    o.requested = requested
    c.orders = n + 1


@helper_njit
def add_event_nb(rec: Records, t: int, rule: int, value: float, j: int) -> None:
    """Append a risk event (``j = -1``: the whole account)."""
    c = rec.cnt[0]
    n = c.events
    if n >= rec.events.shape[0]:
        c.overflow = True
        return
    e = rec.events[n]
    e.bar = t
    e.rule = rule
    e.symbol = j
    e.value = value
    c.events = n + 1


@helper_njit
def close_part_nb(
    rec: Records,
    pos: np.ndarray,
    j: int,
    t: int,
    qty_closed: float,
    price: float,
    fee: float,
    slip: float,
    reason: int,
) -> None:
    """Record the trade for ``qty_closed`` (> 0) units of position ``j`` closed at ``price``."""
    p = pos[j]
    q = p.qty
    d = 1.0 if q > 0 else -1.0
    frac = qty_closed / abs(q)
    entry_fee = p.fees * frac
    entry_slip = p.slip * frac
    c = rec.cnt[0]
    n = c.trades
    if n >= rec.trades.shape[0]:
        c.overflow = True
        p.fees -= entry_fee
        p.slip -= entry_slip
        return
    ep = p.entry_px
    pnl = d * qty_closed * (price - ep) - entry_fee - fee
    tr = rec.trades[n]
    tr.symbol = j
    tr.direction = 1 if d > 0 else -1
    tr.entry_bar = p.entry_bar
    tr.exit_bar = t
    tr.entry_price = ep
    tr.exit_price = price
    tr.qty = qty_closed
    tr.fees = entry_fee + fee
    tr.slippage = entry_slip + slip * qty_closed
    tr.pnl = pnl
    tr.ret = pnl / (qty_closed * ep) if ep > 0 else np.nan
    if d > 0:
        tr.mae = p.trough / ep - 1.0
        tr.mfe = p.peak / ep - 1.0
    else:
        tr.mae = 1.0 - p.peak / ep
        tr.mfe = 1.0 - p.trough / ep
    tr.bars_held = t - p.entry_bar
    tr.exit_reason = reason
    tr.ambiguous = p.ambiguous
    c.trades = n + 1
    p.fees -= entry_fee
    p.slip -= entry_slip


@helper_njit
def open_part_nb(
    pos: np.ndarray, j: int, t: int, delta: float, price: float, fee: float, slip: float
) -> None:
    """Add ``delta`` (signed, same direction or from flat) to position ``j`` at ``price``."""
    p = pos[j]
    q = p.qty
    if q == 0.0:
        p.entry_px = price
        p.entry_bar = t
        p.fees = fee
        p.slip = slip * abs(delta)
        p.peak = price
        p.trough = price
        p.ambiguous = False
        p.sl = np.nan
        p.tp = np.nan
        p.trail_dist = np.nan
        p.trail_pct = np.nan
        p.maxloss = np.nan
    else:
        p.entry_px = (q * p.entry_px + delta * price) / (q + delta)
        p.fees += fee
        p.slip += slip * abs(delta)
    p.qty = q + delta
    p.fill_bar = t


@helper_njit
def execute_delta_nb(
    rec: Records,
    pos: np.ndarray,
    account: np.ndarray,
    j: int,
    t: int,
    delta: float,
    price: tuple[float, float],
    reason: int,
    bar_volume: float,
    s: SettingsRecord,
) -> float:
    """Change position ``j`` by ``delta`` units at ``price`` = (raw price, adverse slippage per
    unit); returns the quantity filled. ``pos`` and ``account`` are the book's position rows and
    account row (only these, not the whole book: every array passed costs on every call).

    Reductions record trades (average-cost basis); a flip closes then opens. The fill is capped
    at the volume participation limit; the caller keeps the rest pending.
    """
    raw_px, slip = price
    side = 1.0 if delta > 0 else -1.0
    want = abs(delta)
    fill = participation_nb(want, bar_volume, s)
    if fill <= 0.0:
        return 0.0
    px = raw_px + side * slip
    fee = commission_nb(fill, px, s)
    book_fill_nb(rec, pos, account, j, t, side * fill, (px, fee, slip), reason)
    status = STATUS_FILLED if fill >= want else STATUS_PARTIAL
    add_order_nb(rec, t, j, side, fill, px, fee, status, reason, want)
    return fill


@helper_njit
def book_fill_nb(
    rec: Records,
    pos: np.ndarray,
    account: np.ndarray,
    j: int,
    t: int,
    delta: float,
    fill: tuple[float, float, float],
    reason: int,
) -> None:
    """Book a fill of ``delta`` units (signed) of symbol ``j`` at ``fill`` = (price with
    slippage, fee, slippage per unit) into the position rows and the account row.

    Reductions record trades (average-cost basis); a flip closes then opens. The vectorized
    engine books its own fills through :func:`execute_delta_nb`; the runtime books the fills a
    venue reports with this same function."""
    px, fee, slip = fill
    side = 1.0 if delta > 0 else -1.0
    qty = abs(delta)
    acct = account[0]
    q = pos[j].qty
    if q != 0.0 and (q > 0) != (side > 0):
        close_q = min(qty, abs(q))
        fee_close = fee * close_q / qty
        close_part_nb(rec, pos, j, t, close_q, px, fee_close, slip, reason)
        acct.cash -= side * close_q * px + fee_close
        pos[j].qty = q + side * close_q
        rest = qty - close_q
        if rest > 0.0:
            open_part_nb(pos, j, t, side * rest, px, fee - fee_close, slip)
            acct.cash -= side * rest * px + (fee - fee_close)
    else:
        open_part_nb(pos, j, t, side * qty, px, fee, slip)
        acct.cash -= side * qty * px + fee
