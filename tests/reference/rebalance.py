"""Target-weight rebalancing: reductions first (they free cash), then increases in priority
order, each increase held to the same portfolio limits as an entry."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tests.reference.costs import commission, slippage, whole
from tests.reference.entries import sector_value
from tests.reference.limits import Book, cap_increase
from tests.reference.model import WeightInput

if TYPE_CHECKING:
    from tests.reference.simulator import Run


def _targets(run: Run, prices: list[float], sb: int) -> dict[int, float]:
    """Signed quantity change per symbol towards the weights decided at bar ``sb``."""
    cfg, strat = run.cfg, run.strat
    assert isinstance(strat, WeightInput)
    eq = run.account.marks(prices, run.last_px)[0]
    out: dict[int, float] = {}
    for j, w in enumerate(strat.weights[sb]):
        px = prices[j]
        if math.isnan(w) or math.isnan(px) or eq <= 0.0:
            continue
        if (w > 0 and cfg.direction == "short") or (w < 0 and cfg.direction == "long"):
            w = 0.0
        if cfg.risk.max_weight:
            w = max(-cfg.risk.max_weight, min(cfg.risk.max_weight, w))
        q = run.account.qty(j)
        if w != 0.0 and cfg.drift_band > 0.0 and abs(q * px / eq - w) <= cfg.drift_band:
            continue  # inside the drift band: leave it
        target = math.copysign(whole(abs(w) * eq / px, cfg.sizing.fractional), w)
        if target - q != 0.0:
            out[j] = target - q
    return out


def rebalance(run: Run, t: int, prices: list[float], sb: int) -> None:
    deltas = _targets(run, prices, sb)
    for j in sorted(deltas):  # reductions, never past flat
        q, dlt = run.account.qty(j), deltas[j]
        if q == 0.0 or (q > 0) == (dlt > 0):
            continue
        red = -q if abs(dlt) >= abs(q) else dlt
        raw = prices[j]
        fill = run.capped(abs(red), run.m.volume[t][j])
        if fill > 0.0:
            slip = slippage(run.cfg.costs, raw, run.atr(sb, j))
            run.account.fill(j, t, math.copysign(fill, red), raw, slip, "rebalance", abs(red))
        deltas[j] = dlt - red
    _increases(run, t, prices, sb, {j: d for j, d in deltas.items() if d != 0.0})


def _increases(run: Run, t: int, prices: list[float], sb: int, deltas: dict[int, float]) -> None:
    cfg = run.cfg
    book = Book(*run.account.marks(prices, run.last_px), n_open=len(run.account.positions))
    block = run.risk.blocked(t)
    for j in sorted(deltas, key=lambda k: (-run.priority(sb, k), k)):
        d = 1 if deltas[j] > 0 else -1
        want = abs(deltas[j])
        held = run.account.qty(j)
        limit = cfg.risk.max_positions
        if block is None and held == 0.0 and limit and book.n_open >= limit:
            run.account.reject(j, t, d, "max_positions", want)
            continue
        if block is not None:
            run.account.reject(j, t, d, block, want)
            continue
        raw = prices[j]
        slip = slippage(cfg.costs, raw, run.atr(sb, j))
        px = raw + d * slip
        qty, reason = cap_increase(
            cfg, book, d, want, px, 0.0, sector_value(run, prices, j), False, None
        )
        if qty <= 0.0:
            run.account.reject(j, t, d, reason, want)
            continue
        fill = run.capped(qty, run.m.volume[t][j])
        if fill <= 0.0:
            continue
        run.account.fill(j, t, d * fill, raw, slip, "entry", qty)
        book.n_open += held == 0.0
        book.gross += fill * raw
        book.net += d * fill * raw
        book.equity -= commission(cfg.costs, fill, px) + fill * slip
