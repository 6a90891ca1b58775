"""``to_panel``: every input form a user holds gives the panel of the same bars in long form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.core.errors import DataError, StrategyError
from alphaforge.core.panel import FIELDS, Panel
from alphaforge.services.backtest import to_panel


def long_bars(n_sym: int = 3, n: int = 300, seed: int = 2) -> pd.DataFrame:
    """Daily long bars (business days), each symbol missing a few bars."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-04", periods=n)
    parts = []
    for k, sym in enumerate(["MSFT", "AAPL", "KO", "XOM"][:n_sym]):
        keep = rng.random(n) < 0.95
        close = 100 * np.exp(rng.normal(0, 0.01, int(keep.sum())).cumsum()) + k
        parts.append(pd.DataFrame({
            "symbol": sym, "timestamp": days[keep], "open": close * 1.001,
            "high": close * 1.01, "low": close * 0.99, "close": close,
            "volume": rng.integers(1, 1000, int(keep.sum())).astype(float),
        }))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def old_single_frame_path(df: pd.DataFrame, symbol: str = "ASSET") -> Panel:
    """The former single-frame input: reset to long bars, then the long path."""
    wide = df.rename(columns=str.lower).copy()
    if "volume" not in wide.columns:
        wide["volume"] = float("nan")
    wide = wide[list(FIELDS)]
    wide.index.name = "timestamp"
    return Panel.from_long(wide.reset_index().assign(symbol=symbol))


def same(got: Panel, want: Panel) -> None:
    pd.testing.assert_index_equal(got.index, want.index, exact=True)
    assert got.symbols == want.symbols and got.timeframe == want.timeframe
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)


def yfinance_frame(bars: pd.DataFrame, order: str = "field") -> pd.DataFrame:
    """MultiIndex columns as yfinance returns them: (Price, Ticker) with capitalised fields."""
    names = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}
    wide = bars.pivot(index="timestamp", columns="symbol", values=list(FIELDS))
    wide = wide.rename(columns=names, level=0)
    wide[("Adj Close", "MSFT")] = wide[("Close", "MSFT")] * 0.9
    wide.index = wide.index.rename("Date")
    if order == "symbol":
        wide = wide.swaplevel(0, 1, axis=1)
    return wide


def test_single_frame_matches_the_old_path_without_copies() -> None:
    bars = long_bars(1)
    df = bars.set_index("timestamp")[list(FIELDS)].rename(columns=str.capitalize)
    panel = to_panel(df)
    same(panel, old_single_frame_path(df))
    assert panel.timeframe == "1d"
    assert np.shares_memory(panel.close, df["Close"].to_numpy())
    same(to_panel(df.drop(columns=["Volume"])), old_single_frame_path(df.drop(columns=["Volume"])))


def test_long_bars_keep_working() -> None:
    bars = long_bars()
    same(to_panel(bars.sample(frac=1, random_state=1)), Panel.from_long(bars))


@pytest.mark.parametrize("order", ["field", "symbol"])
def test_wide_multiindex_frames(order: str) -> None:
    bars = long_bars()
    panel = to_panel(yfinance_frame(bars, order))
    same(panel, Panel.from_long(bars))


def test_mapping_of_frames() -> None:
    bars = long_bars()
    frames = {s: g.set_index("timestamp")[list(FIELDS)] for s, g in bars.groupby("symbol")}
    same(to_panel(frames), Panel.from_long(bars))


def test_wide_close_only_frame() -> None:
    bars = long_bars()
    close = bars.pivot(index="timestamp", columns="symbol", values="close")
    panel = to_panel(close)
    ref = Panel.from_long(bars)
    pd.testing.assert_index_equal(panel.index, ref.index)
    assert panel.symbols == ref.symbols and panel.meta["close_only"]
    for f in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(panel, f), ref.close)
    assert np.isnan(panel.volume).all()


def test_unknown_input_keeps_its_error() -> None:
    with pytest.raises(DataError, match="data must be a Panel"):
        to_panel(pd.DataFrame({"open": [1.0], "close": [1.0]}))
    with pytest.raises(DataError, match="data must be a Panel"):
        to_panel([1, 2, 3])


@pytest.mark.parametrize("form", ["frame", "long", "wide", "mapping"])
def test_backtest_results_equal_across_input_forms(form: str) -> None:
    bars = long_bars(1 if form == "frame" else 3)
    if form == "frame":  # a frame without a symbol column is named ASSET
        bars = bars.assign(symbol="ASSET")
    ref = alphaforge.backtest("sma_cross", Panel.from_long(bars), params={"fast": 5, "slow": 20})
    data: object = {
        "frame": lambda: bars.set_index("timestamp")[list(FIELDS)],
        "long": lambda: bars,
        "wide": lambda: yfinance_frame(bars),
        "mapping": lambda: {s: g.set_index("timestamp") for s, g in bars.groupby("symbol")},
    }[form]()
    got = alphaforge.backtest("sma_cross", data, params={"fast": 5, "slow": 20})
    pd.testing.assert_series_equal(got.equity, ref.equity)
    pd.testing.assert_frame_equal(got.trades, ref.trades)
    assert got.metrics == ref.metrics


def test_parameters_are_checked_before_the_data() -> None:
    with pytest.raises(StrategyError, match="fast"):
        alphaforge.backtest("sma_cross", "no-such-file.csv", params={"fast": -1})
