"""Strategy API: typed parameters, causal signals or target weights, registry of built-ins."""

from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    TargetWeights,
    param,
)

__all__ = ["Signals", "Strategy", "StrategyData", "StrategyParams", "TargetWeights", "param"]
