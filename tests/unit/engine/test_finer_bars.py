"""Ambiguous bars (stop and target both inside the bar) resolved from finer bars.

Daily bars (UTC session labels), one symbol. Entry signal at the close of day 0 -> long at day 1's
open (100). Stop 5% below the entry (95), target 10% above (110). Day 1's range 94..111 touches
both, so the bar is ambiguous. The 1-minute bars of day 1 say which came first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import load_settings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.errors import BacktestError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.services.backtest import run_spec
from alphaforge.sim.fine import fine_arrays
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData


class EnterOnce(Strategy):
    name = "enter_once"

    def signals(self, data: StrategyData) -> Signals:
        entries = np.zeros(data.shape, dtype=bool)
        entries[0, 0] = True
        return Signals(entries=entries, exits=np.zeros(data.shape, dtype=bool))


def _daily() -> Panel:
    idx = pd.DatetimeIndex(["2024-03-04", "2024-03-05", "2024-03-06"], tz="UTC")
    o = np.array([[100.0], [100.0], [100.0]])
    h = np.array([[101.0], [111.0], [101.0]])
    lo = np.array([[99.0], [94.0], [99.0]])
    c = np.array([[100.0], [100.0], [100.0]])
    return Panel(index=idx, symbols=("X",), open=o, high=h, low=lo, close=c, volume=o * 1e6)


def _minutes(stop_first: bool) -> Panel:
    # 2024-03-05 is a regular session: 14:30 UTC = 09:30 New York
    idx = pd.date_range("2024-03-05 14:30", periods=3, freq="1min", tz="UTC")
    if stop_first:  # dips to 94 in the 2nd minute, reaches 111 in the 3rd
        h, lo = [100.5, 100.0, 111.0], [99.5, 94.0, 99.0]
    else:  # reaches 111 in the 2nd minute, dips to 94 in the 3rd
        h, lo = [100.5, 111.0, 100.0], [99.5, 99.0, 94.0]
    a = np.array(h).reshape(-1, 1)
    b = np.array(lo).reshape(-1, 1)
    mid = (a + b) / 2
    return Panel(
        index=idx, symbols=("X",), open=mid, high=a, low=b, close=mid, volume=mid, timeframe="1m"
    )


def _run(policy: str, fine: dict | None):  # type: ignore[no-untyped-def]
    cfg = BacktestConfig.build(
        {"costs": {"commission": 0, "slippage": 0},
         "exits": {"stop_loss": "5%", "take_profit": "10%", "ambiguity": policy}}
    )  # fmt: skip
    return run_backtest(EnterOnce(), _daily(), cfg, fine=fine)


def test_fine_arrays_map_minutes_to_their_session() -> None:
    f = fine_arrays(_daily(), _minutes(True))
    assert f["start"][:, 0].tolist() == [-1, 0, -1]
    assert f["end"][:, 0].tolist() == [-1, 3, -1]
    assert f["low"].tolist() == [99.5, 94.0, 99.0]


@pytest.mark.parametrize(
    ("policy", "stop_first_in_minutes", "reason", "exit_price"),
    [
        ("stop_first", False, "stop_loss", 95.0),  # conservative, whatever the minutes say
        ("target_first", True, "take_profit", 110.0),
        ("finer_bars", True, "stop_loss", 95.0),  # the 94 low came first
        ("finer_bars", False, "take_profit", 110.0),  # the 111 high came first
    ],
)
def test_ambiguity_policies(
    policy: str, stop_first_in_minutes: bool, reason: str, exit_price: float
) -> None:
    fine = fine_arrays(_daily(), _minutes(stop_first_in_minutes))
    res = _run(policy, fine)
    t = res.trades
    assert len(t) == 1
    assert t.loc[0, "exit_reason"] == reason
    assert t.loc[0, "exit_price"] == pytest.approx(exit_price)
    assert t.loc[0, "entry_price"] == pytest.approx(100.0)
    assert bool(t.loc[0, "ambiguous"]) is True
    assert res.ambiguous_bars == 1
    # all-in at 100 with no costs: 1000 shares; P&L = 1000 * (exit - 100)
    assert t.loc[0, "pnl"] == pytest.approx(1000 * (exit_price - 100.0))


def test_finer_bars_without_data_is_refused() -> None:
    with pytest.raises(BacktestError, match=r"exits\.ambiguity: finer_bars needs finer bars.*fine"):
        _run("finer_bars", None)


def test_bars_without_finer_bars_fall_back_to_stop_first() -> None:
    none = np.full((3, 1), -1, dtype=np.int64)
    empty = {"start": none, "end": none, "high": np.empty(0), "low": np.empty(0)}
    res = _run("finer_bars", empty)
    assert res.trades.loc[0, "exit_reason"] == "stop_loss"
    assert res.ambiguous_bars == 1


def test_run_config_without_finer_bars_runs_with_a_warning(tmp_path: Path) -> None:
    d = _daily()
    csv = tmp_path / "x.csv"
    pd.DataFrame(
        {"Date": d.index.strftime("%Y-%m-%d"), "Open": d.open[:, 0], "High": d.high[:, 0],
         "Low": d.low[:, 0], "Close": d.close[:, 0], "Volume": d.volume[:, 0]}
    ).to_csv(csv, index=False)  # fmt: skip
    spec = load_run_spec(
        None,
        {"strategy": "sma_cross", "params": {"fast": 2, "slow": 3}, "data": str(csv),
         "exits": {"stop_loss": "5%", "take_profit": "10%", "ambiguity": "finer_bars"}},
    )  # fmt: skip
    res = run_spec(spec, load_settings(tmp_path / "home"))  # an empty store: no 1m bars
    assert any("no 1m bars found for finer_bars" in w for w in res.warnings), res.warnings
    assert res.config["exits"]["ambiguity"] == "finer_bars"
