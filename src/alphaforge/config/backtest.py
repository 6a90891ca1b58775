"""Backtest configuration (re-exported): the models live in :mod:`alphaforge.core.rules`."""

from __future__ import annotations

from alphaforge.core.rules import (
    BacktestConfig,
    CostsConfig,
    ExitsConfig,
    RiskConfig,
    SizingConfig,
    format_validation_error,
    set_dotted,
)

__all__ = [
    "BacktestConfig",
    "CostsConfig",
    "ExitsConfig",
    "RiskConfig",
    "SizingConfig",
    "format_validation_error",
    "set_dotted",
]
