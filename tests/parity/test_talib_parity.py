"""TA-Lib parity of every indicator TA-Lib also has, on real daily bars.

Five S&P 500 stocks (about 5,000 bars each, 1999-2019) from the shared real-data file are put in
one (bars x symbols) panel; three columns are blanked at the start (late "listings") so the
panel path with leading NaNs is exercised too. Each indicator is computed once on the panel
and every column is compared with ``talib`` on that column's own valid segment: values within
1e-8 (absolute, or relative for magnitudes above 1) wherever TA-Lib has a value, NaN before
the column's first bar, and the first valid bar equal to the documented warm-up (for the
candlestick patterns, where TA-Lib writes 0 during its lookback, from the warm-up on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphaforge.indicators import INDICATORS
from alphaforge.testing import shared_data_file

talib = pytest.importorskip("talib")

pytestmark = pytest.mark.parity

SYMBOLS = ("MSFT", "JPM", "XOM", "KO", "JNJ")
BENCHMARK = "IBM"
START_ROWS = (0, 0, 250, 700, 1500)
TOL = 1e-8

Adapter = Callable[..., Any]


def _cdl(fn: str) -> Adapter:
    return lambda d, **p: getattr(talib, fn)(d["open"], d["high"], d["low"], d["close"], **p)


# ours -> TA-Lib call on 1-D arrays, returning outputs in our order
TA: dict[str, Adapter] = {
    "sma": lambda d, period: talib.SMA(d["close"], period),
    "ema": lambda d, period: talib.EMA(d["close"], period),
    "wma": lambda d, period: talib.WMA(d["close"], period),
    "dema": lambda d, period: talib.DEMA(d["close"], period),
    "tema": lambda d, period: talib.TEMA(d["close"], period),
    "kama": lambda d, period: talib.KAMA(d["close"], period),
    "rsi": lambda d, period: talib.RSI(d["close"], period),
    "macd": lambda d, fast, slow, signal: talib.MACD(d["close"], fast, slow, signal),
    "stoch_fast": lambda d, k_period, d_period: talib.STOCHF(
        d["high"], d["low"], d["close"], k_period, d_period, 0
    ),
    "stoch_slow": lambda d, k_period, k_smooth, d_period: talib.STOCH(
        d["high"], d["low"], d["close"], k_period, k_smooth, 0, d_period, 0
    ),
    "stochrsi": lambda d, period, k_period, d_period: talib.STOCHRSI(
        d["close"], period, k_period, d_period, 0
    ),
    "willr": lambda d, period: talib.WILLR(d["high"], d["low"], d["close"], period),
    "roc": lambda d, period: talib.ROC(d["close"], period),
    "momentum": lambda d, period: talib.MOM(d["close"], period),
    "cci": lambda d, period: talib.CCI(d["high"], d["low"], d["close"], period),
    "mfi": lambda d, period: talib.MFI(d["high"], d["low"], d["close"], d["volume"], period),
    "adx": lambda d, period: talib.ADX(d["high"], d["low"], d["close"], period),
    "plus_di": lambda d, period: talib.PLUS_DI(d["high"], d["low"], d["close"], period),
    "minus_di": lambda d, period: talib.MINUS_DI(d["high"], d["low"], d["close"], period),
    "aroon": lambda d, period: talib.AROON(d["high"], d["low"], period)[::-1],
    "aroon_osc": lambda d, period: talib.AROONOSC(d["high"], d["low"], period),
    "sar": lambda d, acceleration, maximum: talib.SAR(d["high"], d["low"], acceleration, maximum),
    "linreg_slope": lambda d, period: talib.LINEARREG_SLOPE(d["close"], period),
    "true_range": lambda d: talib.TRANGE(d["high"], d["low"], d["close"]),
    "atr": lambda d, period: talib.ATR(d["high"], d["low"], d["close"], period),
    "natr": lambda d, period: talib.NATR(d["high"], d["low"], d["close"], period),
    "rolling_std": lambda d, period: talib.STDDEV(d["close"], period, 1.0),
    "bbands": lambda d, period, nbdev_up, nbdev_dn: talib.BBANDS(
        d["close"], period, nbdev_up, nbdev_dn, 0
    ),
    "obv": lambda d: talib.OBV(d["close"], d["volume"]),
    "ad": lambda d: talib.AD(d["high"], d["low"], d["close"], d["volume"]),
    "adosc": lambda d, fast, slow: talib.ADOSC(
        d["high"], d["low"], d["close"], d["volume"], fast, slow
    ),
    "rolling_beta": lambda d, period: talib.BETA(d["benchmark"], d["close"], period),
    "rolling_corr": lambda d, period: talib.CORREL(d["benchmark"], d["close"], period),
    "cdl_doji": _cdl("CDLDOJI"),
    "cdl_hammer": _cdl("CDLHAMMER"),
    "cdl_shooting_star": _cdl("CDLSHOOTINGSTAR"),
    "cdl_engulfing": _cdl("CDLENGULFING"),
    "cdl_harami": _cdl("CDLHARAMI"),
    "cdl_morning_star": _cdl("CDLMORNINGSTAR"),
    "cdl_evening_star": _cdl("CDLEVENINGSTAR"),
}

PARAMS: dict[str, list[dict[str, Any]]] = {
    "sma": [{"period": 5}, {"period": 20}, {"period": 200}],
    "ema": [{"period": 5}, {"period": 20}, {"period": 100}],
    "wma": [{"period": 5}, {"period": 30}],
    "dema": [{"period": 5}, {"period": 30}],
    "tema": [{"period": 5}, {"period": 30}],
    "kama": [{"period": 10}, {"period": 30}],
    "rsi": [{"period": 2}, {"period": 14}, {"period": 30}],
    "macd": [
        {"fast": 12, "slow": 26, "signal": 9},
        {"fast": 5, "slow": 35, "signal": 5},
        {"fast": 26, "slow": 12, "signal": 9},
    ],
    "stoch_fast": [{"k_period": 5, "d_period": 3}, {"k_period": 14, "d_period": 5}],
    "stoch_slow": [
        {"k_period": 5, "k_smooth": 3, "d_period": 3},
        {"k_period": 14, "k_smooth": 1, "d_period": 5},
    ],
    "stochrsi": [
        {"period": 14, "k_period": 5, "d_period": 3},
        {"period": 9, "k_period": 14, "d_period": 3},
    ],
    "willr": [{"period": 7}, {"period": 14}],
    "roc": [{"period": 1}, {"period": 10}, {"period": 20}],
    "momentum": [{"period": 1}, {"period": 10}],
    "cci": [{"period": 5}, {"period": 14}, {"period": 20}],
    "mfi": [{"period": 5}, {"period": 14}],
    "adx": [{"period": 7}, {"period": 14}, {"period": 25}],
    "plus_di": [{"period": 7}, {"period": 14}],
    "minus_di": [{"period": 7}, {"period": 14}],
    "aroon": [{"period": 14}, {"period": 25}],
    "aroon_osc": [{"period": 14}, {"period": 25}],
    "sar": [{"acceleration": 0.02, "maximum": 0.2}, {"acceleration": 0.03, "maximum": 0.3}],
    "linreg_slope": [{"period": 14}, {"period": 50}],
    "true_range": [{}],
    "atr": [{"period": 5}, {"period": 14}, {"period": 30}],
    "natr": [{"period": 14}],
    "rolling_std": [{"period": 5}, {"period": 20}],
    "bbands": [
        {"period": 20, "nbdev_up": 2.0, "nbdev_dn": 2.0},
        {"period": 10, "nbdev_up": 1.5, "nbdev_dn": 2.5},
    ],
    "obv": [{}],
    "ad": [{}],
    "adosc": [{"fast": 3, "slow": 10}, {"fast": 5, "slow": 20}],
    "rolling_beta": [{"period": 5}, {"period": 30}, {"period": 60}],
    "rolling_corr": [{"period": 10}, {"period": 30}],
    "cdl_doji": [{}],
    "cdl_hammer": [{}],
    "cdl_shooting_star": [{}],
    "cdl_engulfing": [{}],
    "cdl_harami": [{}],
    "cdl_morning_star": [{"penetration": 0.3}, {"penetration": 0.5}],
    "cdl_evening_star": [{"penetration": 0.3}, {"penetration": 0.5}],
}

CASES = [(name, p) for name, plist in PARAMS.items() for p in plist]


def test_every_talib_indicator_has_parity_cases() -> None:
    with_talib = {name for name, spec in INDICATORS.items() if spec.talib is not None}
    assert with_talib == set(TA) == set(PARAMS)


@pytest.fixture(scope="module")
def panel() -> dict[str, np.ndarray]:
    path = shared_data_file("us_equities_daily.parquet")
    cols = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    df = pd.read_parquet(path, columns=cols, filters=[("symbol", "in", [*SYMBOLS, BENCHMARK])])
    out: dict[str, np.ndarray] = {}
    for f in ("open", "high", "low", "close", "volume"):
        wide = df.pivot(index="timestamp", columns="symbol", values=f).sort_index()
        out[f] = np.array(wide[list(SYMBOLS)].to_numpy(dtype=np.float64))
        if f == "close":
            out["benchmark"] = np.array(wide[BENCHMARK].to_numpy(dtype=np.float64))
    assert out["close"].shape[0] > 4000
    for j, s in enumerate(START_ROWS):
        for f in ("open", "high", "low", "close", "volume"):
            out[f][:s, j] = np.nan
    return out


def _column(panel: dict[str, np.ndarray], j: int) -> tuple[dict[str, np.ndarray], int]:
    """Column ``j``'s valid segment (where it and the benchmark have bars) and its start row."""
    ok = ~np.isnan(panel["close"][:, j]) & ~np.isnan(panel["benchmark"])
    start = int(np.argmax(ok))
    assert ok[start:].all(), "the test panel only has leading gaps"
    seg = {
        k: np.ascontiguousarray(v[start:, j] if v.ndim == 2 else v[start:])
        for k, v in panel.items()
    }
    return seg, start


def _first_valid(outs: list[np.ndarray]) -> int:
    ok = np.all([~np.isnan(o) for o in outs], axis=0)
    return int(np.argmax(ok))


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_matches_talib(panel: dict[str, np.ndarray], name: str, params: dict[str, Any]) -> None:
    spec = INDICATORS[name]
    res = spec.function(*(panel[i] for i in spec.inputs), **params)
    ours_all = list(res) if isinstance(res, tuple) else [res]
    warmup = spec.warmup(**params)
    is_pattern = spec.group == "patterns"
    for j in range(len(SYMBOLS)):
        seg, start = _column(panel, j)
        theirs = TA[name](seg, **params)
        theirs = [
            np.asarray(t, dtype=float)
            for t in (theirs if isinstance(theirs, tuple | list) else [theirs])
        ]
        ours = [o[:, j] for o in ours_all[: len(theirs)]]
        for o in ours_all:
            assert np.isnan(o[:start, j]).all(), f"{name}: values before column {j}'s first bar"
        ours = [o[start:] for o in ours]
        assert _first_valid([o[start:, j] for o in ours_all]) == warmup
        if is_pattern:
            # TA-Lib writes 0 (not NaN) during its lookback
            theirs = [np.where(np.arange(len(t)) < warmup, np.nan, t) for t in theirs]
        else:
            assert _first_valid(theirs) == warmup, (
                "documented warm-up differs from TA-Lib's lookback"
            )
        for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            m = ~np.isnan(b)
            assert not np.isnan(a[m]).any(), f"{name} output {k}: NaN where TA-Lib has a value"
            err = np.abs(a[m] - b[m]) / np.maximum(1.0, np.abs(b[m]))
            worst = int(np.argmax(err))
            assert err[worst] <= TOL, (
                f"{name}{params} output {k} column {SYMBOLS[j]} row {start + np.flatnonzero(m)[worst]}: "
                f"{a[m][worst]!r} vs TA-Lib {b[m][worst]!r}"
            )
