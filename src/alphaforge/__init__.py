"""alphaforge: systematic trading from market data to honest backtests and live trading."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
