"""How many shares an entry asks for, before any limit is applied."""

from __future__ import annotations

import itertools
import math

from tests.reference.costs import affordable, whole
from tests.reference.model import Costs, Sizing


class NeedsStop(Exception):
    """Risk sizing without a stop distance: the entry is rejected."""


def kelly_fraction(s: Sizing, returns: list[float]) -> float:
    """Fraction of equity from the returns of the last ``kelly_lookback`` closed trades, times
    the Kelly multiplier; the fallback fraction until ``kelly_min_trades`` trades closed."""
    recent = returns[-s.kelly_lookback :]
    if len(recent) < s.kelly_min_trades:
        return s.kelly_fallback
    wins = [r for r in recent if r > 0]
    losses = [r for r in recent if r <= 0]
    if not wins:
        return 0.0
    loss_sum = -sum(r for r in losses if r < 0)
    if not losses or loss_sum == 0.0:
        return min(1.0, s.value)
    p = len(wins) / len(recent)
    payoff = (sum(wins) / len(wins)) / (loss_sum / len(losses))
    return min(1.0, max(0.0, s.value * (p - (1.0 - p) / payoff)))


def entry_quantity(
    s: Sizing,
    costs: Costs,
    price: float,
    equity: float,
    buying_power: float,
    stop_distance: float,
    vol: float,
    kelly: float,
) -> float:
    """Unsigned quantity for the sizing method at fill ``price`` (slippage included)."""
    v = s.value
    if s.method == "all_in":
        return affordable(costs, s.fractional, buying_power, price)
    if s.method == "fraction":
        q = v * equity / price
    elif s.method == "cash":
        q = v / price
    elif s.method == "shares":
        q = v
    elif s.method == "risk":
        if not stop_distance > 0.0:
            raise NeedsStop
        q = v * equity / stop_distance
    elif s.method == "vol_target":
        if not vol > 0.0:
            return 0.0
        q = min(v / vol, 1.0) * equity / price
    else:
        q = kelly * equity / price
    return whole(q, s.fractional)


def rolling_vol(close: list[float], lookback: int, periods_per_year: float) -> list[float]:
    """Annualised sample std of the last ``lookback`` log returns at each bar (NaN when any of
    them is missing)."""
    rets = [math.nan] + [
        math.log(b / a) if not (math.isnan(a) or math.isnan(b)) else math.nan
        for a, b in itertools.pairwise(close)
    ]
    out = []
    for t in range(len(close)):
        w = rets[t - lookback + 1 : t + 1] if t + 1 >= lookback else []
        if len(w) < lookback or any(math.isnan(x) for x in w):
            out.append(math.nan)
            continue
        mean = sum(w) / lookback
        var = sum((x - mean) ** 2 for x in w) / (lookback - 1)
        out.append(math.sqrt(var) * math.sqrt(periods_per_year))
    return out
