"""Candlestick patterns, replicating TA-Lib's ``CDL*`` functions with its default settings.

Outputs are float arrays of +100 (bullish), -100 (bearish) or 0, and +/-80 where TA-Lib
reports a weaker form (engulfing / harami whose bodies share an end), NaN during the
warm-up. "Average" below means the mean range of the candles *before* the reference candle
(see :mod:`alphaforge.indicators.kernels_patterns` for the settings table).
"""

from __future__ import annotations

from alphaforge.indicators import kernels_patterns as kp
from alphaforge.indicators._arrays import A, check_positive, prepare


def _pattern(func: str, open_: A, high: A, low: A, close: A, kind: int, pen: float = 0.0) -> A:
    (o, h, lw, c), like = prepare(func, open=open_, high=high, low=low, close=close)
    out: A = like.restore(kp.pattern_nb(o, h, lw, c, kind, pen))
    return out


def cdl_doji(open_: A, high: A, low: A, close: A) -> A:
    """Doji (TA-Lib ``CDLDOJI``): +100 when ``|c - o| <= 0.1 * average(h - l, 10)``.

    Warm-up: 10.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame

    Returns
    -------
    Same kind as ``open_``.
    """
    return _pattern("cdl_doji", open_, high, low, close, 0)


def cdl_hammer(open_: A, high: A, low: A, close: A) -> A:
    """Hammer (TA-Lib ``CDLHAMMER``): +100.

    Small body (``< average body, 10``), lower shadow longer than the body, upper shadow
    ``< 0.1 * average(h - l, 10)``, and the body's bottom ``<=`` the prior low plus
    ``0.2 * average(h - l, 5)`` of the prior candle. Warm-up: 11.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame

    Returns
    -------
    Same kind as ``open_``.
    """
    return _pattern("cdl_hammer", open_, high, low, close, 1)


def cdl_shooting_star(open_: A, high: A, low: A, close: A) -> A:
    """Shooting star (TA-Lib ``CDLSHOOTINGSTAR``): -100.

    Small body, upper shadow longer than the body, very short lower shadow, and the body
    gapping up from the prior body. Warm-up: 11.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame

    Returns
    -------
    Same kind as ``open_``.
    """
    return _pattern("cdl_shooting_star", open_, high, low, close, 2)


def cdl_engulfing(open_: A, high: A, low: A, close: A) -> A:
    """Engulfing (TA-Lib ``CDLENGULFING``): the body engulfs the prior opposite-colour body.

    +100 bullish / -100 bearish; +/-80 when the bodies share one end. Warm-up: 2.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame

    Returns
    -------
    Same kind as ``open_``.
    """
    return _pattern("cdl_engulfing", open_, high, low, close, 3)


def cdl_harami(open_: A, high: A, low: A, close: A) -> A:
    """Harami (TA-Lib ``CDLHARAMI``): a long body followed by a short body inside it.

    Sign opposite to the first candle's colour; 100 when strictly inside, 80 when the bodies
    share an end. Warm-up: 11.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame

    Returns
    -------
    Same kind as ``open_``.
    """
    return _pattern("cdl_harami", open_, high, low, close, 4)


def cdl_morning_star(open_: A, high: A, low: A, close: A, penetration: float = 0.3) -> A:
    """Morning star (TA-Lib ``CDLMORNINGSTAR``): +100.

    Long black candle, a short body gapping down, then a white candle longer than short that
    closes above the first close plus ``penetration`` of the first body. Warm-up: 12.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame
    penetration : float
        Fraction of the first body the third close must reach into, >= 0.

    Returns
    -------
    Same kind as ``open_``.
    """
    pen = check_positive("cdl_morning_star", "penetration", penetration, allow_zero=True)
    return _pattern("cdl_morning_star", open_, high, low, close, 5, pen)


def cdl_evening_star(open_: A, high: A, low: A, close: A, penetration: float = 0.3) -> A:
    """Evening star (TA-Lib ``CDLEVENINGSTAR``): -100; the mirror image of the morning star.

    Warm-up: 12.

    Parameters
    ----------
    open_, high, low, close : array, Series or DataFrame
    penetration : float
        >= 0.

    Returns
    -------
    Same kind as ``open_``.
    """
    pen = check_positive("cdl_evening_star", "penetration", penetration, allow_zero=True)
    return _pattern("cdl_evening_star", open_, high, low, close, 6, pen)
