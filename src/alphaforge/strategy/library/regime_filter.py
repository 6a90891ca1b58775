"""Regime filter: trade another strategy only in trending or in calm markets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import StrategyError
from alphaforge.indicators.trend import adx
from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    TargetWeights,
    param,
)
from alphaforge.strategy.library._common import log_returns, rolling_std


class RegimeFilterParams(StrategyParams):
    inner: str = param(
        "sma_cross", description="Wrapped strategy: built-in name or path/file.py:ClassName"
    )
    inner_params: dict[str, Any] = param({}, description="Parameters of the wrapped strategy")
    regime: str = param(
        "trend",
        choices=["trend", "low_vol"],
        description="trend: ADX above adx_min; low_vol: volatility below its rolling quantile",
    )
    adx_period: int = param(14, ge=5, le=50, step=1, description="ADX length (trend regime)")
    adx_min: float = param(
        25.0, ge=10.0, le=50.0, step=2.5, description="Minimum ADX of a trending market"
    )
    vol_window: int = param(
        20, ge=5, le=120, step=5, description="Window of the realised volatility (low_vol regime)"
    )
    vol_lookback: int = param(
        252,
        ge=60,
        le=1000,
        step=21,
        description="History the volatility is ranked against (low_vol regime)",
    )
    vol_quantile: float = param(
        0.5,
        ge=0.1,
        le=0.9,
        step=0.1,
        description="Volatility must be below this quantile of its history",
    )


def regime_mask(data: StrategyData, p: RegimeFilterParams) -> np.ndarray:
    """True where the market is in the wanted regime (per bar and symbol, causal)."""
    if p.regime == "trend":
        a = np.asarray(adx(data.high, data.low, data.close, p.adx_period))
        with np.errstate(invalid="ignore"):
            return np.asarray(a > p.adx_min, dtype=bool)
    vol = rolling_std(log_returns(data.close), p.vol_window)
    cut = pd.DataFrame(vol).rolling(p.vol_lookback).quantile(p.vol_quantile).to_numpy()
    with np.errstate(invalid="ignore"):
        return np.asarray(vol < cut, dtype=bool)


class RegimeFilter(Strategy[RegimeFilterParams]):
    """Wrap another strategy and let it open positions only in the chosen regime.

    ``regime: trend`` allows entries while ADX(``adx_period``) > ``adx_min``; ``regime: low_vol``
    while the ``vol_window``-bar realised volatility is below its ``vol_quantile`` quantile over
    the last ``vol_lookback`` bars. Outside the regime long and short entries are dropped;
    exits always pass. A target-weight strategy gets weight 0 outside the regime. Warm-up: the
    inner strategy's, or the regime's own (``10 * adx_period`` for the recursive ADX,
    ``vol_window + vol_lookback`` for volatility), whichever is longer.
    """

    name = "regime_filter"
    Params = RegimeFilterParams

    def __init__(self, params: Any = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        from alphaforge.strategy.registry import make_strategy

        p = self.params
        if p.inner == self.name:
            raise StrategyError("regime_filter: parameter inner: cannot wrap itself")
        self.inner = make_strategy(p.inner, dict(p.inner_params))

    def warmup(self) -> int:
        p = self.params
        own = 10 * p.adx_period if p.regime == "trend" else p.vol_window + p.vol_lookback
        return max(self.inner.warmup(), own)

    def signals(self, data: StrategyData) -> Signals | TargetWeights:
        out = self.inner.signals(data)
        ok = regime_mask(data, self.params)
        if isinstance(out, TargetWeights):
            w = np.where(ok | np.isnan(out.weights), out.weights, 0.0)
            return TargetWeights(weights=w, rebalance=out.rebalance, priority=out.priority)
        se = out.short_entries
        return Signals(
            entries=np.asarray(out.entries, dtype=bool) & ok,
            exits=out.exits,
            short_entries=None if se is None else np.asarray(se, dtype=bool) & ok,
            short_exits=out.short_exits,
            stop_loss=out.stop_loss,
            take_profit=out.take_profit,
            limit_price=out.limit_price,
            stop_price=out.stop_price,
            priority=out.priority,
        )
