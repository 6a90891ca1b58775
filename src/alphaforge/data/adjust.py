"""Split and dividend adjustment from the adjusted close.

Vendors such as Alpha Vantage and Yahoo give raw (or split-only adjusted) OHLCV plus an
``adj_close`` that is adjusted for splits and dividends. The adjustment factor of a bar is
``adj_close / close``; adjusted prices are ``price * factor`` and adjusted volume is
``volume / factor`` (so that ``price * volume``, the traded value, is unchanged). Bars without an
``adj_close`` (or with NaN there) keep factor 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["adjust_bars", "adjustment_factor"]


def adjustment_factor(bars: pd.DataFrame) -> np.ndarray:
    """Per-row factor ``adj_close / close`` (1.0 where there is no adjusted close).

    Parameters
    ----------
    bars
        Canonical long bars, optionally with ``adj_close``.

    Returns
    -------
    numpy.ndarray
        float64 factors aligned with the rows of ``bars``.
    """
    close = bars["close"].to_numpy(dtype=np.float64, na_value=np.nan)
    if "adj_close" not in bars.columns:
        return np.ones(len(bars))
    adj = bars["adj_close"].to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = adj / close
    return np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)


def adjust_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Split- and dividend-adjusted OHLCV; the ``adj_close`` column is dropped.

    ``close`` becomes ``adj_close`` exactly where that is present; ``open``, ``high`` and ``low``
    are scaled by the same factor and ``volume`` is divided by it.
    """
    out = bars.copy()
    if "adj_close" not in out.columns:
        return out
    factor = adjustment_factor(out)
    for col in ("open", "high", "low"):
        out[col] = out[col].to_numpy(dtype=np.float64) * factor
    adj = out["adj_close"].to_numpy(dtype=np.float64, na_value=np.nan)
    close = out["close"].to_numpy(dtype=np.float64)
    out["close"] = np.where(np.isfinite(adj) & (adj > 0), adj, close)
    out["volume"] = out["volume"].to_numpy(dtype=np.float64) / factor
    return out.drop(columns="adj_close")
