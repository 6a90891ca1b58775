"""Registry of the built-in indicators: name -> :class:`IndicatorSpec`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from alphaforge.core.errors import ConfigError
from alphaforge.indicators import averages as av
from alphaforge.indicators import oscillators as mo
from alphaforge.indicators import patterns as pt
from alphaforge.indicators import statistics as st
from alphaforge.indicators import trend as tr
from alphaforge.indicators import volatility as vo
from alphaforge.indicators import volume as vl

Params = Mapping[str, Any]


@dataclass(frozen=True)
class IndicatorSpec:
    """Description of one indicator.

    Attributes
    ----------
    name : str
        Registry key (also the function name in :mod:`alphaforge.indicators`).
    function : callable
        The user-facing function.
    inputs : tuple of str
        Positional array inputs, e.g. ``("high", "low", "close")``.
    params : mapping
        Keyword parameters and their defaults.
    outputs : tuple of str
        Output names (one for single-array indicators).
    warmup_formula : str
        Human-readable warm-up length: bars before the first bar where every output is valid.
    talib : str or None
        Equivalent TA-Lib function, checked for parity in the test-suite.
    group : str
        Category (``averages``, ``momentum``, ``trend``, ``volatility``, ``volume``,
        ``statistics``, ``patterns``).
    """

    name: str
    function: Callable[..., Any]
    inputs: tuple[str, ...]
    params: Mapping[str, Any]
    outputs: tuple[str, ...]
    warmup_formula: str
    talib: str | None
    group: str

    @property
    def description(self) -> str:
        """First line of the function's docstring."""
        doc = self.function.__doc__ or ""
        return doc.strip().splitlines()[0] if doc.strip() else self.name

    def resolve(self, **params: Any) -> dict[str, Any]:
        """Defaults overlaid with ``params``; unknown names raise :class:`ConfigError`."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ConfigError(
                f"indicator {self.name!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"expected {', '.join(self.params) or 'none'}"
            )
        return {**self.params, **params}

    def warmup(self, **params: Any) -> int:
        """Warm-up length in bars for the given parameters (defaults for missing ones)."""
        values = self.resolve(**params)
        return int(eval(self.warmup_formula, {"__builtins__": {}, **_FORMULA_FUNCS}, values))


_C = ("close",)
_HL = ("high", "low")
_HLC = ("high", "low", "close")
_HLCV = ("high", "low", "close", "volume")
_OHLC = ("open", "high", "low", "close")
_SPECS: list[IndicatorSpec] = []


def _add(
    name: str,
    function: Callable[..., Any],
    inputs: tuple[str, ...],
    params: dict[str, Any],
    outputs: tuple[str, ...],
    formula: str,
    talib: str | None,
    group: str,
) -> None:
    _SPECS.append(
        IndicatorSpec(
            name, function, inputs, MappingProxyType(params), outputs, formula, talib, group
        )
    )


def _isqrt(p: int) -> int:
    return max(math.isqrt(int(p)), 1)


# names usable in warm-up formulas (the formulas are constants of this module)
_FORMULA_FUNCS: dict[str, Any] = {"max": max, "isqrt": _isqrt}


_V = ("value",)
# fmt: off
# averages
_add("sma", av.sma, _C, {"period": 30}, _V, "period - 1", "SMA", "averages")
_add("ema", av.ema, _C, {"period": 30}, _V, "period - 1", "EMA", "averages")
_add("wma", av.wma, _C, {"period": 30}, _V, "period - 1", "WMA", "averages")
_add("dema", av.dema, _C, {"period": 30}, _V, "2 * (period - 1)", "DEMA", "averages")
_add("tema", av.tema, _C, {"period": 30}, _V, "3 * (period - 1)", "TEMA", "averages")
_add("kama", av.kama, _C, {"period": 30, "fast": 2, "slow": 30}, _V, "period", "KAMA", "averages")
_add("hma", av.hma, _C, {"period": 16}, _V, "period + isqrt(period) - 2", None, "averages")
# momentum
_add("rsi", mo.rsi, _C, {"period": 14}, _V, "period", "RSI", "momentum")
_add("macd", mo.macd, _C, {"fast": 12, "slow": 26, "signal": 9}, ("macd", "signal", "hist"), "max(fast, slow) + signal - 2", "MACD", "momentum")
_add("stoch_fast", mo.stoch_fast, _HLC, {"k_period": 5, "d_period": 3}, ("k", "d"), "k_period + d_period - 2", "STOCHF", "momentum")
_add("stoch_slow", mo.stoch_slow, _HLC, {"k_period": 5, "k_smooth": 3, "d_period": 3}, ("k", "d"), "k_period + k_smooth + d_period - 3", "STOCH", "momentum")
_add("stochrsi", mo.stochrsi, _C, {"period": 14, "k_period": 5, "d_period": 3}, ("k", "d"), "period + k_period + d_period - 2", "STOCHRSI", "momentum")
_add("willr", mo.willr, _HLC, {"period": 14}, _V, "period - 1", "WILLR", "momentum")
_add("roc", mo.roc, _C, {"period": 10}, _V, "period", "ROC", "momentum")
_add("momentum", mo.momentum, _C, {"period": 10}, _V, "period", "MOM", "momentum")
_add("cci", mo.cci, _HLC, {"period": 14}, _V, "period - 1", "CCI", "momentum")
_add("mfi", mo.mfi, _HLCV, {"period": 14}, _V, "period", "MFI", "momentum")
# trend
_add("adx", tr.adx, _HLC, {"period": 14}, _V, "2 * period - 1", "ADX", "trend")
_add("plus_di", tr.plus_di, _HLC, {"period": 14}, _V, "period", "PLUS_DI", "trend")
_add("minus_di", tr.minus_di, _HLC, {"period": 14}, _V, "period", "MINUS_DI", "trend")
_add("dmi", tr.dmi, _HLC, {"period": 14}, ("plus_di", "minus_di", "adx"), "2 * period - 1", None, "trend")
_add("aroon", tr.aroon, _HL, {"period": 14}, ("up", "down"), "period", "AROON", "trend")
_add("aroon_osc", tr.aroon_osc, _HL, {"period": 14}, _V, "period", "AROONOSC", "trend")
_add("sar", tr.sar, _HL, {"acceleration": 0.02, "maximum": 0.2}, _V, "1", "SAR", "trend")
_add("ichimoku", tr.ichimoku, _HL, {"tenkan": 9, "kijun": 26, "senkou": 52, "shift": 26}, ("tenkan", "kijun", "senkou_a", "senkou_b"), "max(tenkan, kijun, senkou) - 1 + shift", None, "trend")
_add("supertrend", tr.supertrend, _HLC, {"period": 10, "multiplier": 3.0}, ("line", "direction"), "period", None, "trend")
_add("linreg_slope", tr.linreg_slope, _C, {"period": 14}, _V, "period - 1", "LINEARREG_SLOPE", "trend")
# volatility
_add("true_range", vo.true_range, _HLC, {}, _V, "1", "TRANGE", "volatility")
_add("atr", vo.atr, _HLC, {"period": 14}, _V, "period", "ATR", "volatility")
_add("natr", vo.natr, _HLC, {"period": 14}, _V, "period", "NATR", "volatility")
_add("rolling_std", vo.rolling_std, _C, {"period": 5, "ddof": 0}, _V, "period - 1", "STDDEV", "volatility")
_add("zscore", vo.zscore, _C, {"period": 20, "ddof": 0}, _V, "period - 1", None, "volatility")
_add("bbands", vo.bbands, _C, {"period": 20, "nbdev_up": 2.0, "nbdev_dn": 2.0}, ("upper", "middle", "lower", "percent_b", "bandwidth"), "period - 1", "BBANDS", "volatility")
_add("keltner", vo.keltner, _HLC, {"period": 20, "atr_period": 10, "mult": 2.0}, ("upper", "middle", "lower"), "max(period - 1, atr_period)", None, "volatility")
_add("donchian", vo.donchian, _HL, {"period": 20}, ("upper", "middle", "lower"), "period - 1", None, "volatility")
# volume
_add("obv", vl.obv, ("close", "volume"), {}, _V, "0", "OBV", "volume")
_add("ad", vl.ad, _HLCV, {}, _V, "0", "AD", "volume")
_add("adosc", vl.adosc, _HLCV, {"fast": 3, "slow": 10}, _V, "max(fast, slow) - 1", "ADOSC", "volume")
_add("vwap", vl.vwap, (*_HLCV, "session"), {}, _V, "0", None, "volume")
# statistics
_add("rolling_beta", st.rolling_beta, ("close", "benchmark"), {"period": 5}, _V, "period", "BETA", "statistics")
_add("rolling_corr", st.rolling_corr, ("close", "benchmark"), {"period": 30}, _V, "period - 1", "CORREL", "statistics")
_add("hurst", st.hurst, _C, {"period": 100, "max_lag": 20}, _V, "period - 1", None, "statistics")
# patterns
_add("cdl_doji", pt.cdl_doji, _OHLC, {}, _V, "10", "CDLDOJI", "patterns")
_add("cdl_hammer", pt.cdl_hammer, _OHLC, {}, _V, "11", "CDLHAMMER", "patterns")
_add("cdl_shooting_star", pt.cdl_shooting_star, _OHLC, {}, _V, "11", "CDLSHOOTINGSTAR", "patterns")
_add("cdl_engulfing", pt.cdl_engulfing, _OHLC, {}, _V, "2", "CDLENGULFING", "patterns")
_add("cdl_harami", pt.cdl_harami, _OHLC, {}, _V, "11", "CDLHARAMI", "patterns")
_add("cdl_morning_star", pt.cdl_morning_star, _OHLC, {"penetration": 0.3}, _V, "12", "CDLMORNINGSTAR", "patterns")
_add("cdl_evening_star", pt.cdl_evening_star, _OHLC, {"penetration": 0.3}, _V, "12", "CDLEVENINGSTAR", "patterns")
# fmt: on

INDICATORS: Mapping[str, IndicatorSpec] = MappingProxyType({s.name: s for s in _SPECS})


def get_indicator(name: str) -> IndicatorSpec:
    """Spec of indicator ``name``; unknown names raise :class:`ConfigError`."""
    try:
        return INDICATORS[name]
    except KeyError:
        raise ConfigError(
            f"unknown indicator {name!r}; known: {', '.join(sorted(INDICATORS))}"
        ) from None
