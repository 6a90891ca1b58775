"""alphaforge: systematic trading from market data to honest backtests and live trading."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "backtest"]


def __getattr__(name: str) -> object:
    # Lazy: ``import alphaforge`` stays light; the engine loads on first use.
    if name == "backtest":
        from alphaforge.services.backtest import backtest

        return backtest
    raise AttributeError(f"module 'alphaforge' has no attribute {name!r}")
