"""Commission, slippage, share rounding and what a sum of money can buy."""

from __future__ import annotations

import math

from tests.reference.model import Costs

TOL = 1e-9  # money / share rounding tolerance


def commission(c: Costs, qty: float, price: float) -> float:
    """Fee of one fill: fixed + percent of value + per-share clipped to [min, max % of value]."""
    q = abs(qty)
    if q == 0.0:
        return 0.0
    value = q * price
    fee = c.comm_fixed + value * c.comm_pct
    if c.per_share > 0.0:
        share_part = max(q * c.per_share, c.comm_min)
        if c.comm_max_pct > 0.0:
            share_part = min(share_part, value * c.comm_max_pct)
        fee += share_part
    return fee


def slippage(c: Costs, price: float, atr: float) -> float:
    """Adverse move per share: bps plus half the spread, plus an ATR multiple when known; with
    the ATR part the move stops at 10% of the price (the fixed part is never cut)."""
    fixed = price * (c.slip_bps + 0.5 * c.spread)
    if c.slip_atr > 0.0 and not math.isnan(atr):
        with_atr = fixed + c.slip_atr * atr
        return with_atr if with_atr <= 0.10 * price else max(fixed, 0.10 * price)
    return fixed


def whole(q: float, fractional: bool) -> float:
    """Whole shares (rounded down) unless fractional quantities are allowed."""
    return q if fractional else float(math.floor(q + TOL))


def cost(c: Costs, qty: float, price: float) -> float:
    return qty * price + commission(c, qty, price)


def affordable(c: Costs, fractional: bool, money: float, price: float) -> float:
    """Largest quantity whose cost plus commission fits ``money`` (nothing for less than the
    money rounding tolerance: no dust orders)."""
    if money <= TOL or price <= 0.0:
        return 0.0
    if fractional:
        return _affordable_fractional(c, money, price)
    q = max(0.0, float(math.floor((money - c.comm_fixed) / (price * (1.0 + c.comm_pct)))))
    while q > 0.0 and cost(c, q, price) > money + TOL:
        q -= 1.0
    while cost(c, q + 1.0, price) <= money + TOL:
        q += 1.0
    return q


def _affordable_fractional(c: Costs, money: float, price: float) -> float:
    """The commission is linear on each of at most three pieces; the answer solves one of them."""
    base = price * (1.0 + c.comm_pct)
    cands = [(money - c.comm_fixed) / (base + c.per_share)]
    if c.per_share > 0.0:
        cands.append((money - c.comm_fixed - c.comm_min) / base)
        if c.comm_max_pct > 0.0:
            cands.append((money - c.comm_fixed) / (base + price * c.comm_max_pct))
    ok = [q for q in cands if q > 0.0 and cost(c, q, price) <= money + TOL]
    return max(ok, default=0.0)
