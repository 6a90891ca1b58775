"""Volume indicators: OBV, accumulation/distribution line, Chaikin oscillator, session VWAP.

Inputs: 1-D/2-D arrays, Series or DataFrames (bars x symbols); outputs have the kind of the
first input. Bars where any input is NaN are skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphaforge.indicators import kernels_volume as kvol
from alphaforge.indicators._arrays import A, broadcast_column, check_period, prepare


def obv(close: A, volume: A) -> A:
    """On-balance volume (TA-Lib ``OBV``).

    Starts at the first bar's volume; adds the volume on up-closes, subtracts it on
    down-closes. Warm-up: 0.

    Parameters
    ----------
    close, volume : array, Series or DataFrame

    Returns
    -------
    Same kind as ``close``.
    """
    (c, v), like = prepare("obv", close=close, volume=volume)
    out: A = like.restore(kvol.volume_nb(c, c, c, v, 0, 1, 1))
    return out


def ad(high: A, low: A, close: A, volume: A) -> A:
    """Chaikin accumulation/distribution line (TA-Lib ``AD``).

    ``AD_t = AD_{t-1} + ((c - l) - (h - c)) / (h - l) * volume`` (bars with ``h == l`` add 0),
    starting from 0 before the first bar. Warm-up: 0.

    Parameters
    ----------
    high, low, close, volume : array, Series or DataFrame

    Returns
    -------
    Same kind as ``high``.
    """
    (h, lw, c, v), like = prepare("ad", high=high, low=low, close=close, volume=volume)
    out: A = like.restore(kvol.volume_nb(h, lw, c, v, 1, 1, 1))
    return out


def adosc(high: A, low: A, close: A, volume: A, fast: int = 3, slow: int = 10) -> A:
    """Chaikin A/D oscillator (TA-Lib ``ADOSC``): ``EMA(AD, fast) - EMA(AD, slow)``.

    Both EMAs start from the first A/D value (not an SMA seed, as in TA-Lib).
    Warm-up: ``max(fast, slow) - 1``.

    Parameters
    ----------
    high, low, close, volume : array, Series or DataFrame
    fast, slow : int
        EMA periods, >= 2.

    Returns
    -------
    Same kind as ``high``.
    """
    f = check_period("adosc", "fast", fast, 2)
    s = check_period("adosc", "slow", slow, 2)
    (h, lw, c, v), like = prepare("adosc", high=high, low=low, close=close, volume=volume)
    out: A = like.restore(kvol.volume_nb(h, lw, c, v, 2, f, s))
    return out


def session_ids(index: pd.DatetimeIndex, tz: str = "America/New_York") -> np.ndarray:
    """Integer session id per bar: the bar's calendar date in ``tz`` (days since 1970-01-01).

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar timestamps; naive timestamps are taken as UTC.
    tz : str
        Exchange time zone that defines the trading day.

    Returns
    -------
    numpy.ndarray
        int64 array, equal for bars of the same session.
    """
    idx = index if index.tz is not None else index.tz_localize("UTC")
    local = idx.tz_convert(tz).tz_localize(None).normalize().as_unit("ns")
    days: np.ndarray = (local.asi8 // 86_400_000_000_000).astype(np.int64)
    return days


def vwap(high: A, low: A, close: A, volume: A, session: Any) -> A:
    """Session VWAP (not in TA-Lib): cumulative ``sum(tp * v) / sum(v)`` that restarts
    whenever the session id changes, with ``tp = (h + l + c) / 3``.

    NaN until the session has traded volume. Warm-up: 0.

    Parameters
    ----------
    high, low, close, volume : array, Series or DataFrame
    session : array-like
        Session id per bar (e.g. from :func:`session_ids`), shape ``(bars,)`` shared by all
        columns or ``(bars, symbols)``.

    Returns
    -------
    Same kind as ``high``.
    """
    (h, lw, c, v), like = prepare("vwap", high=high, low=low, close=close, volume=volume)
    sid = broadcast_column(session, c.shape, "session", "vwap")
    out: A = like.restore(kvol.vwap_nb(h, lw, c, v, sid))
    return out
