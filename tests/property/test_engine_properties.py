"""Property tests of the backtest engine on random OHLC paths and random signals.

Invariants: the equity identity at every bar, fills inside the bar's range widened by the
configured slippage, non-negative fees, zero P&L for a zero-cost round trip at equal prices,
independence of the symbols' column order, determinism.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaforge.core.panel import Panel
from alphaforge.services.backtest import resolve_config
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData
from alphaforge.testing.records import assert_records_equal

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


class _Given(Strategy):
    name = "given"

    def __init__(self, out: Signals) -> None:
        super().__init__()
        self.out = out

    def signals(self, data: StrategyData) -> Signals:
        return self.out


def _panel(seed: int, n: int, m: int) -> Panel:
    """Random OHLCV: log-normal closes, opens gapping from the previous close, wicks."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, m)), axis=0))
    prev = np.vstack([np.full((1, m), 100.0), close[:-1]])
    open_ = prev * np.exp(rng.normal(0, 0.01, (n, m)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, (n, m)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, (n, m)))
    volume = rng.uniform(1e3, 1e5, (n, m)).round()
    index = pd.date_range("2024-01-01", periods=n, freq="B", tz="UTC", name="timestamp")
    symbols = tuple(f"S{k}" for k in range(m))
    return Panel(index, symbols, open_, high, low, close, volume)


def _signals(seed: int, panel: Panel, order_types: bool) -> Signals:
    rng = np.random.default_rng(seed + 1)
    shape = panel.shape

    def mask(p: float) -> np.ndarray:
        return rng.random(shape) < p

    limit = stop = None
    if order_types:
        limit = np.where(mask(0.3), panel.close * rng.uniform(0.97, 1.01, shape), np.nan)
        stop = np.where(mask(0.3), panel.close * rng.uniform(0.99, 1.03, shape), np.nan)
    return Signals(
        entries=mask(0.2),
        exits=mask(0.15),
        short_entries=mask(0.15),
        short_exits=mask(0.15),
        limit_price=limit,
        stop_price=stop,
    )


CONFIGS = st.fixed_dictionaries(
    {
        "fill": st.sampled_from(["next_open", "close"]),
        "direction": st.sampled_from(["long", "short", "long_short"]),
        "commission": st.sampled_from(["0", "0.1%", "0.005/share,min=1,max=1%", "1/order"]),
        "slippage": st.sampled_from(["0", "5bps", "spread=10bps", "5bps+spread=4bps"]),
        "stop_loss": st.sampled_from([None, "3%", "2"]),
        "take_profit": st.sampled_from([None, "4%"]),
        "trailing_stop": st.sampled_from([None, "5%"]),
        "participation": st.sampled_from([0.0, 0.001]),
        "time_in_force": st.sampled_from(["day", "gtc"]),
        "sizing.method": st.sampled_from(["all_in", "fraction", "shares"]),
        "stop_on_entry_bar": st.booleans(),
        "ambiguity": st.sampled_from(["stop_first", "target_first"]),
        "max_bars": st.sampled_from([None, 3]),
    }
)


def _run(panel: Panel, sig: Signals, cfg: dict[str, Any]) -> BacktestResult:
    c = dict(cfg)
    if c["sizing.method"] == "shares":
        c["size"] = 20
    elif c["sizing.method"] == "fraction":
        c["size"] = 0.2
    # every rule combination, idle ones included: the engine's arithmetic, not the refusal
    return run_backtest(_Given(sig), panel, resolve_config(None, **c), refuse_idle_orders=False)


def _slip_fraction(spec: str) -> float:
    return {"0": 0.0, "5bps": 5e-4, "spread=10bps": 5e-4, "5bps+spread=4bps": 7e-4}[spec]


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 40),
    m=st.integers(1, 3),
    order_types=st.booleans(),
    cfg=CONFIGS,
)
def test_accounting_invariants(
    seed: int, n: int, m: int, order_types: bool, cfg: dict[str, Any]
) -> None:
    panel = _panel(seed, n, m)
    res = _run(panel, _signals(seed, panel, order_types), cfg)
    # equity = cash + sum of positions x close, at every bar
    pos = res.positions.to_numpy()
    np.testing.assert_allclose(
        res.equity_values, res.cash_values + (pos * panel.close).sum(axis=1), rtol=1e-9, atol=1e-6
    )
    o = res.orders
    filled = o[o["quantity"] > 0]
    # every fill inside its bar's [low, high], widened by the slippage paid
    bar = res.index.get_indexer(pd.DatetimeIndex(filled["time"]))
    col = np.array([panel.symbols.index(s) for s in filled["symbol"]], dtype=np.int64)
    s = _slip_fraction(cfg["slippage"])
    px = filled["price"].to_numpy()
    assert np.all(px >= panel.low[bar, col] * (1 - s) - 1e-9)
    assert np.all(px <= panel.high[bar, col] * (1 + s) + 1e-9)
    # fees are never negative; trade fees add up to the order fees (end-of-data exits are free)
    assert (o["fee"].fillna(0) >= 0).all() and (res.trades["fees"] >= 0).all()
    assert res.trades["fees"].sum() == pytest.approx(o["fee"].fillna(0).sum(), abs=1e-6)
    # no position without cash accounting: final equity = start + realised + unrealised P&L
    # minus fees (all P&L is in the trades, which include the end-of-data marks)
    assert res.final_equity == pytest.approx(
        res.config["cash"] + res.trades["pnl"].sum(), rel=1e-9, abs=1e-6
    )


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(6, 30), data=st.data())
def test_zero_cost_round_trip_at_equal_prices_has_zero_pnl(
    seed: int, n: int, data: st.DataObject
) -> None:
    k1 = data.draw(st.integers(1, n - 3))
    k2 = data.draw(st.integers(k1 + 1, n - 1))
    panel = _panel(seed, n, 1)
    panel.open[k2, 0] = panel.open[k1, 0]  # sold at the price it was bought
    panel.high[k2, 0] = max(panel.high[k2, 0], panel.open[k2, 0])
    panel.low[k2, 0] = min(panel.low[k2, 0], panel.open[k2, 0])
    short = data.draw(st.booleans())
    ent = np.zeros((n, 1), dtype=bool)
    ex = np.zeros((n, 1), dtype=bool)
    ent[k1 - 1] = ex[k2 - 1] = True
    sig = (
        Signals(entries=ex & False, exits=ex & False, short_entries=ent, short_exits=ex)
        if short
        else Signals(entries=ent, exits=ex)
    )
    cfg = resolve_config(None, commission="0", slippage="0", direction="short" if short else "long")
    res = run_backtest(_Given(sig), panel, cfg)
    assert res.num_trades == 1
    t = res.trade_records[0]
    assert t["entry_price"] == t["exit_price"]
    assert t["pnl"] == 0.0 and t["fees"] == 0.0
    assert res.final_equity == pytest.approx(res.config["cash"], rel=1e-12)


@SETTINGS
@given(
    seed=st.integers(0, 10_000), n=st.integers(5, 40), perm_seed=st.integers(0, 100), cfg=CONFIGS
)
def test_symbol_column_order_does_not_matter(
    seed: int, n: int, perm_seed: int, cfg: dict[str, Any]
) -> None:
    # sizing that never competes for cash: order-of-columns tie breaks cannot matter
    cfg = {**cfg, "sizing.method": "shares", "cash": 1e7}
    panel = _panel(seed, n, 3)
    sig = _signals(seed, panel, True)
    perm = np.random.default_rng(perm_seed).permutation(3)

    def cols(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[:, perm])

    shuffled = Panel(
        panel.index,
        tuple(panel.symbols[k] for k in perm),
        cols(panel.open),
        cols(panel.high),
        cols(panel.low),
        cols(panel.close),
        cols(panel.volume),
    )
    assert sig.limit_price is not None and sig.stop_price is not None
    assert sig.short_entries is not None and sig.short_exits is not None
    sig2 = Signals(
        entries=cols(sig.entries),
        exits=cols(sig.exits),
        short_entries=cols(sig.short_entries),
        short_exits=cols(sig.short_exits),
        limit_price=cols(sig.limit_price),
        stop_price=cols(sig.stop_price),
    )
    a, b = _run(panel, sig, cfg), _run(shuffled, sig2, cfg)
    assert b.final_equity == pytest.approx(a.final_equity, rel=1e-12)
    assert b.num_trades == a.num_trades
    pa = a.positions[list(shuffled.symbols)].to_numpy()
    np.testing.assert_array_equal(pa, b.positions.to_numpy())


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), cfg=CONFIGS)
def test_deterministic(seed: int, cfg: dict[str, Any]) -> None:
    panel = _panel(seed, 30, 2)
    sig = _signals(seed, panel, True)
    a, b = _run(panel, sig, cfg), _run(panel, sig, cfg)
    np.testing.assert_array_equal(a.equity_values, b.equity_values)
    assert_records_equal(a.order_records, b.order_records)
    assert_records_equal(a.trade_records, b.trade_records)
    assert a.metrics.keys() == b.metrics.keys()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-equal arrays (NaN equal to NaN); record arrays field by field."""
    if a.dtype.names:
        return a.dtype == b.dtype and all(_same(a[k], b[k]) for k in a.dtype.names)
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    return bool(np.array_equal(a, b, equal_nan=True))


@settings(SETTINGS, max_examples=200)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 60),
    m=st.sampled_from([1, 1, 1, 2, 3]),  # one symbol scans its masks word-wise
    gaps=st.booleans(),
    direction=st.sampled_from(["long", "short", "long_short"]),
    commission=st.sampled_from(["0", "0.1%", "0.005/share,min=1,max=1%"]),
    cash_rate=st.sampled_from([0.0, 0.0, 0.03, -0.01]),
    borrow=st.sampled_from([0.0, 0.02]),
    density=st.sampled_from([0.01, 0.05, 0.3]),
    record=st.sampled_from([False, False, True]),
    participation=st.sampled_from([0.0, 0.0, 0.001]),
    order_types=st.sampled_from([False, False, True]),
    sizing=st.sampled_from(["all_in", "all_in", "fraction"]),
    levels=st.sampled_from([None, None, "config", "signal"]),
)
def test_quiet_stretches_match_the_bar_by_bar_loop(
    seed: int,
    n: int,
    m: int,
    gaps: bool,
    direction: str,
    commission: str,
    cash_rate: float,
    borrow: float,
    density: float,
    record: bool,
    participation: float,
    order_types: bool,
    sizing: str,
    levels: str | None,
) -> None:
    """Bars without pending orders or levels are run by a shortcut; it must change nothing.

    With protective levels (from the config or the strategy) only the bars while no position
    holds one are shortcut.

    ``fast_paths=False`` runs every phase of every bar under the same rules, so the two runs
    must agree to the last bit.
    """
    panel = _panel(seed, n, m)
    rng = np.random.default_rng(seed + 7)
    if gaps:  # missing bars: the last close carries the mark
        holes = rng.random(panel.shape) < 0.1
        for a in (panel.open, panel.high, panel.low, panel.close):
            a[holes] = np.nan
    shape = panel.shape
    limit = stop = None
    if order_types:  # some entries as limit / stop orders: the fast paths must step aside
        limit = np.where(rng.random(shape) < 0.3, panel.close * 0.99, np.nan)
        stop = np.where(rng.random(shape) < 0.3, panel.close * 1.01, np.nan)
    sig = Signals(
        entries=rng.random(shape) < density,
        exits=rng.random(shape) < density,
        short_entries=rng.random(shape) < density,
        short_exits=rng.random(shape) < density,
        limit_price=limit,
        stop_price=stop,
        stop_loss=panel.close * 0.98 if levels == "signal" else None,
        take_profit=panel.close * 1.03 if levels == "signal" else None,
    )
    base = {
        "direction": direction,
        "commission": commission,
        "slippage": "5bps",
        "costs.cash_rate": cash_rate,
        "costs.borrow_fee": borrow,
        "record_positions": record,
        "participation": participation,
        "sizing.method": sizing,
        **({"size": 0.5} if sizing == "fraction" else {}),
        **(
            {"stop_loss": "3%", "take_profit": "4%", "exits.trailing_stop": "2%"}
            if levels == "config"
            else {}
        ),
    }
    fast = run_backtest(_Given(sig), panel, resolve_config(None, **base))
    slow = run_backtest(_Given(sig), panel, resolve_config(None, **base), fast_paths=False)
    assert _same(fast.equity_values, slow.equity_values)
    assert _same(fast.cash_values, slow.cash_values)
    if record:
        assert _same(fast.positions.to_numpy(), slow.positions.to_numpy())
    assert _same(fast.trade_records, slow.trade_records)
    assert _same(fast.order_records, slow.order_records)
