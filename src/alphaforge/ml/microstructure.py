"""Microstructure estimators that daily or intraday bars allow, over trailing windows.

All three take (bars x symbols) arrays and return (bars x symbols) arrays whose row ``t`` uses
bars ``t - window + 1 .. t`` (and the close before them for returns); NaN until the window is
full or where a bar in it is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _simple_returns(close: np.ndarray) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = close[1:] / close[:-1] - 1.0
    return out


def _log_returns(close: np.ndarray) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.log(close[1:] / close[:-1])
    return out


def _finite(a: np.ndarray) -> pd.DataFrame:
    b = np.asarray(a, dtype=np.float64).copy()
    b[~np.isfinite(b)] = np.nan
    return pd.DataFrame(b)


def amihud(close: np.ndarray, volume: np.ndarray, window: int) -> np.ndarray:
    """Amihud (2002) illiquidity: the mean of ``|r_t| / (close_t * volume_t)`` over the window.

    ``r_t`` is the simple close-to-close return; a bar without volume makes the ratio
    undefined (NaN), so a window holding one has no value.
    """
    c = np.atleast_2d(np.asarray(close, dtype=np.float64).T).T
    v = np.atleast_2d(np.asarray(volume, dtype=np.float64).T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(_simple_returns(c)) / (c * v)
    out = _finite(ratio).rolling(window, min_periods=window).mean().to_numpy()
    return out.reshape(np.shape(close))


def roll_spread(close: np.ndarray, window: int) -> np.ndarray:
    """Roll (1984) effective spread as a fraction of price: ``2 sqrt(-cov(dp_t, dp_{t-1}))``.

    ``dp`` is the log price change; the covariance is the sample covariance (ddof 1) of the
    ``window`` pairs ending at bar ``t``. A non-negative covariance (no bid-ask bounce) gives 0.
    """
    c = np.atleast_2d(np.asarray(close, dtype=np.float64).T).T
    dp = _finite(_log_returns(c))
    cov = dp.rolling(window, min_periods=window).cov(dp.shift(1)).to_numpy()
    with np.errstate(invalid="ignore"):
        out = np.where(cov < 0, 2.0 * np.sqrt(np.abs(cov)), np.where(np.isnan(cov), np.nan, 0.0))
    return out.reshape(np.shape(close))


def kyle_lambda(close: np.ndarray, volume: np.ndarray, window: int) -> np.ndarray:
    """Kyle's lambda from bars (López de Prado, AFML 19.3.2): the OLS slope of the log return
    on the signed dollar volume ``sign(r_t) * close_t * volume_t`` over the window (the tick
    rule on bars: a bar's volume counts as buying when its close rose)."""
    c = np.atleast_2d(np.asarray(close, dtype=np.float64).T).T
    v = np.atleast_2d(np.asarray(volume, dtype=np.float64).T).T
    r = _log_returns(c)
    signed = np.sign(r) * c * v
    rf, sf = _finite(r), _finite(signed)
    sf = sf.where(rf.notna())
    cov = rf.rolling(window, min_periods=window).cov(sf)
    var = sf.rolling(window, min_periods=window).var()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (cov / var).to_numpy().copy()
    out[~np.isfinite(out)] = np.nan
    return out.reshape(np.shape(close))
