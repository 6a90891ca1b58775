"""Hypothesis strategies for random settings, signals and target weights."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from alphaforge.strategy.base import Signals, TargetWeights
from tests.reference.harness import Bars
from tests.reference.model import Costs, ExitRules, Level, RiskRules, Sizing

COMMISSIONS = [
    Costs(),
    Costs(comm_pct=0.001),
    Costs(per_share=0.005, comm_min=1.0, comm_max_pct=0.01),
    Costs(comm_fixed=1.0),
    Costs(comm_pct=0.0005, comm_fixed=2.0),
]
SLIPPAGES = [
    (0.0, 0.0, 0.0),
    (0.0005, 0.0, 0.0),
    (0.0, 0.001, 0.0),
    (0.0, 0.0, 0.1),
    (0.0002, 0.0004, 0.0),
]


@st.composite
def costs(draw: st.DrawFn, shorts: bool = True, participation: bool = True) -> Costs:
    c = draw(st.sampled_from(COMMISSIONS))
    bps, spread, atr = draw(st.sampled_from(SLIPPAGES))
    return Costs(
        comm_pct=c.comm_pct, per_share=c.per_share, comm_min=c.comm_min,
        comm_max_pct=c.comm_max_pct, comm_fixed=c.comm_fixed, slip_bps=bps, spread=spread,
        slip_atr=atr,
        participation=draw(st.sampled_from([0.0, 0.0, 0.02, 0.2])) if participation else 0.0,
        borrow_fee=draw(st.sampled_from([0.0, 0.03])) if shorts else 0.0,
        margin=draw(st.sampled_from([1.0, 1.5])) if shorts else 1.0,
        cash_rate=draw(st.sampled_from([0.0, 0.0, 0.04, -0.01])),
    )  # fmt: skip


LEVELS = st.one_of(
    st.none(),
    st.sampled_from([Level("pct", 0.02), Level("pct", 0.05), Level("abs", 2.0), Level("atr", 1.5)]),
)


@st.composite
def exit_rules(draw: st.DrawFn) -> ExitRules:
    return ExitRules(
        stop_loss=draw(LEVELS), take_profit=draw(LEVELS), trailing_stop=draw(LEVELS),
        max_bars=draw(st.sampled_from([None, None, 2, 5])),
        stop_on_entry_bar=draw(st.booleans()),
        ambiguity=draw(st.sampled_from(["stop_first", "target_first", "finer_bars"])),
    )  # fmt: skip


SIZING_VALUES = {
    "all_in": [1.0], "fraction": [0.2, 0.5, 0.9], "cash": [5_000.0, 40_000.0],
    "shares": [10.0, 300.0], "risk": [0.01, 0.05], "vol_target": [0.1, 0.4],
    "kelly": [0.5, 1.0],
}  # fmt: skip


@st.composite
def sizing(draw: st.DrawFn, methods: list[str] | None = None) -> Sizing:
    method = draw(st.sampled_from(methods or list(SIZING_VALUES)))
    return Sizing(
        method,  # type: ignore[arg-type]
        draw(st.sampled_from(SIZING_VALUES[method])),
        fractional=draw(st.sampled_from([False, False, True])),
        vol_lookback=3, kelly_lookback=5, kelly_min_trades=draw(st.sampled_from([1, 3])),
        kelly_fallback=0.2,
    )  # fmt: skip


@st.composite
def risk_rules(draw: st.DrawFn, m: int) -> RiskRules:
    def maybe(values: list[float]) -> float | None:
        return draw(st.sampled_from([None, None, *values]))

    sectors = draw(st.sampled_from([None, ("A",) * m, tuple("AB"[k % 2] for k in range(m))]))
    return RiskRules(
        max_positions=draw(st.sampled_from([None, None, 1, 2])),
        max_weight=maybe([0.3, 0.6]), max_sector_exposure=maybe([0.5, 0.8]),
        sectors=sectors if sectors is None else tuple(
            s if s != "B" else f"S{k}" for k, s in enumerate(sectors)
        ),
        min_cash=draw(st.sampled_from([0.0, 0.0, 0.1, 0.3])),
        max_gross_leverage=maybe([0.8, 1.5]), max_net_leverage=maybe([0.5, 1.0]),
        max_trade_loss=maybe([0.005, 0.02]), daily_loss_limit=maybe([0.005, 0.02]),
        weekly_loss_limit=maybe([0.01, 0.03]), max_drawdown=maybe([0.01, 0.03]),
        drawdown_action=draw(st.sampled_from(["flatten", "halt", "flatten_and_halt"])),
    )  # fmt: skip


def random_signals(
    rng: np.random.Generator, bars: Bars, density: float, order_type: str, levels: bool
) -> Signals:
    shape = bars.shape

    def mask(p: float) -> np.ndarray:
        return rng.random(shape) < p

    ref = np.where(np.isnan(bars.close), 100.0, bars.close)
    limit = stop = sl = tp = None
    if order_type in ("limit", "stop_limit"):
        limit = ref * rng.uniform(0.97, 1.03, shape)
    if order_type in ("stop", "stop_limit"):
        stop = ref * rng.uniform(0.97, 1.03, shape)
    if levels:
        sl = np.where(mask(0.5), ref * rng.uniform(0.95, 0.99, shape), np.nan)
        tp = np.where(mask(0.5), ref * rng.uniform(1.01, 1.05, shape), np.nan)
    return Signals(
        entries=mask(density), exits=mask(density * 0.7), short_entries=mask(density * 0.8),
        short_exits=mask(density * 0.7), limit_price=limit, stop_price=stop, stop_loss=sl,
        take_profit=tp, priority=rng.integers(0, 3, shape).astype(float),
    )  # fmt: skip


def random_weights(
    rng: np.random.Generator, bars: Bars, explicit: bool, short: bool
) -> TargetWeights:
    n, m = bars.shape
    w = rng.dirichlet(np.ones(m + 1), n)[:, :m] * rng.choice([0.8, 1.0, 1.6], (n, 1))
    if short:
        w *= rng.choice([-1.0, 1.0], (n, m))
    w[rng.random((n, m)) < 0.1] = np.nan
    w[rng.random((n, m)) < 0.1] = 0.0
    rebalance = rng.random(n) < 0.4 if explicit else None
    return TargetWeights(
        weights=w, rebalance=rebalance, priority=rng.integers(0, 3, (n, m)).astype(float)
    )


def fine_bars(rng: np.random.Generator, bars: Bars, k: int = 4) -> dict[str, np.ndarray]:
    """Finer bars inside each bar's range (the first touches the open, one the high, one the low)."""
    n, m = bars.shape
    start = np.full((n, m), -1, dtype=np.int64)
    end = np.full((n, m), -1, dtype=np.int64)
    hs: list[float] = []
    ls: list[float] = []
    for t in range(n):
        for j in range(m):
            h, lo = bars.high[t, j], bars.low[t, j]
            if math.isnan(h):
                continue
            start[t, j] = len(hs)
            pts = rng.uniform(lo, h, (k, 2))
            pts[rng.integers(k), 0] = h
            pts[rng.integers(k), 1] = lo
            hs += [float(max(a, b)) for a, b in pts]
            ls += [float(min(a, b)) for a, b in pts]
            end[t, j] = len(hs)
    return {"start": start, "end": end, "high": np.array(hs), "low": np.array(ls)}
