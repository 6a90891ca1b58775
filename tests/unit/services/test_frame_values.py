"""Bars handed over in memory get the importer's value checks: a bad price is refused with the
symbol, bar, column and value; a broken bar or a bad tick is a warning of the run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.data.frame_checks import check_bar_values
from alphaforge.services.backtest import to_panel


def frame(n: int = 300, seed: int = 4) -> pd.DataFrame:
    """One symbol's daily OHLCV bars (business days)."""
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(rng.normal(0, 0.01, n).cumsum())
    return pd.DataFrame(
        {"open": close * 1.002, "high": close * 1.01, "low": close * 0.99, "close": close,
         "volume": np.full(n, 1e5)},
        index=pd.bdate_range("2022-01-03", periods=n),
    )  # fmt: skip


def put(df: pd.DataFrame, column: str, rows: int | slice, value: float) -> None:
    """Set ``df[column]`` at positions ``rows`` to ``value``."""
    values = df[column].to_numpy(dtype=np.float64, copy=True)
    values[rows] = value
    df[column] = values


def at(df: pd.DataFrame, column: str, row: int) -> float:
    return float(df[column].to_numpy()[row])


# (what, column, row, value, message): the message the importer gives a file's row, on the
# frame's bar ({day}: the date of that row)
REFUSED = [
    ("zero close", "close", 120, 0.0, "column 'close': price must be positive (0.0)"),
    ("negative open", "open", 7, -3.5, "column 'open': price must be positive (-3.5)"),
    ("infinite high", "high", 9, np.inf, "column 'high': not finite (inf)"),
    ("a broken huge low", "low", 10, 1e300,
     "column 'low': price above 1e+12 (a broken value?) (1e+300)"),
    ("open missing where the bar has prices", "open", 11, np.nan,
     "column 'open': missing value (nan)"),
    ("close missing where the bar has prices", "close", 12, np.nan,
     "column 'close': missing value (nan)"),
    ("negative volume", "volume", 13, -1.0, "column 'volume': negative volume (-1.0)"),
    ("infinite volume", "volume", 14, np.inf, "column 'volume': not finite (inf)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "column", "row", "value", "message"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_a_bad_value_in_a_frame_is_refused_naming_its_bar(
    what: str, column: str, row: int, value: float, message: str
) -> None:
    df = frame()
    put(df, column, row, value)
    with pytest.raises(DataError) as err:
        alphaforge.backtest("sma_cross", df)
    assert str(err.value) == f"data: ASSET {df.index[row]:%Y-%m-%d}, {message}", what


def test_the_count_of_bad_bars_is_given() -> None:
    df = frame()
    put(df, "close", slice(200, None), 0.0)  # a column zeroed from a date on
    with pytest.raises(DataError) as err:
        to_panel(df)
    assert str(err.value).startswith(f"data: ASSET {df.index[200]:%Y-%m-%d}, column 'close'")
    assert str(err.value).endswith("; 100 such bar(s)")


def test_returns_passed_instead_of_prices_are_refused() -> None:
    """A wide frame of daily returns looks like closes to the close-only path; its negative
    values are refused instead of being traded as prices."""
    rets = frame()[["close"]].pct_change().fillna(0.001).rename(columns={"close": "ABC"})
    with pytest.raises(DataError, match=r"^data: ABC .*, column 'close': price must be positive"):
        alphaforge.backtest("sma_cross", rets)


def test_a_missing_bar_is_still_a_missing_bar() -> None:
    """All four prices missing: no bar there (wide and aligned frames have such cells); the
    run is the one on the frame without that row."""
    df = frame()
    gap = df.copy()
    for column in ("open", "high", "low", "close"):
        put(gap, column, 150, np.nan)
    got = alphaforge.backtest("sma_cross", gap)
    want = alphaforge.backtest("sma_cross", df.drop(index=df.index[150]))
    assert got.warnings == []
    assert got.metrics["total_return"] == pytest.approx(want.metrics["total_return"], rel=1e-12)


def test_a_bad_tick_and_a_broken_bar_are_warnings_of_the_run() -> None:
    df = frame()
    put(df, "close", 100, at(df, "close", 100) * 100)  # a price in cents
    put(df, "high", 100, at(df, "close", 100))  # (its bar's range follows)
    put(df, "high", 40, at(df, "low", 40) * 0.5)  # high below low
    result = alphaforge.backtest("sma_cross", df)
    assert result.warnings == [
        f"ASSET {df.index[40]:%Y-%m-%d}: high below low (high {at(df, 'high', 40):g}, low "
        f"{at(df, 'low', 40):g}); 1 such bar(s), used as they are",
        f"ASSET {df.index[100]:%Y-%m-%d}: close {at(df, 'close', 100):,.6g} between "
        f"{at(df, 'close', 99):,.6g} and {at(df, 'close', 101):,.6g} (a bad tick?); "
        "1 such bar(s), used as it is",
    ]


def test_clean_frames_have_no_notes_in_every_input_form() -> None:
    df = frame()
    long = df.rename_axis("timestamp").reset_index().assign(symbol="ABC")
    for data in (df, long, {"ABC": df}, df[["close"]].rename(columns={"close": "ABC"})):
        panel = to_panel(data)
        assert check_bar_values(panel) == []
        assert "data_notes" not in panel.meta


@pytest.mark.parametrize("factor", [100.0, 0.01, 1.6])
def test_the_panel_sieve_finds_what_the_spikes_check_finds(factor: float) -> None:
    """The in-memory sieve (ratios of neighbouring closes) passes every spike the store's
    check reports, across symbols with missing bars."""
    df = frame(400, seed=9)
    other = frame(400, seed=10).iloc[::2]  # every other bar: aligned with gaps
    put(df, "close", 250, at(df, "close", 250) * factor)
    notes = check_bar_values(to_panel({"AAA": df, "BBB": other}))
    spikes = [n for n in notes if "bad tick" in n]
    assert len(spikes) == 1
    assert spikes[0].startswith(f"AAA {df.index[250]:%Y-%m-%d}: close ")


def test_a_sweep_over_a_frame_with_a_bad_tick_warns_too() -> None:
    df = frame(400)
    put(df, "close", 300, at(df, "close", 300) * 100)
    put(df, "high", 300, at(df, "close", 300))
    grid = {"fast": [5, 10], "slow": [30]}
    swept = alphaforge.sweep("sma_cross", df, grid, workers=1, min_trades=0)
    assert [w for w in swept.warnings if "bad tick" in w] == [
        f"ASSET {df.index[300]:%Y-%m-%d}: close {at(df, 'close', 300):,.6g} between "
        f"{at(df, 'close', 299):,.6g} and {at(df, 'close', 301):,.6g} (a bad tick?); "
        "1 such bar(s), used as it is"
    ]


def test_a_sweep_grid_value_its_parameter_cannot_take_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        alphaforge.sweep("sma_cross", frame(), {"fast": [5, "abc"], "slow": [50]}, workers=1)
    assert str(err.value) == (
        "grid: fast='abc': Input should be a valid integer, unable to parse string as an integer"
    )
