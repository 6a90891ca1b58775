"""alphaforge: systematic trading from market data to honest backtests and live trading."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import stays light)

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ imports on first use
    from alphaforge.api import (
        SweepResult,
        WalkForwardResult,
        backtest,
        compare,
        load,
        load_result,
        lookahead,
        plot,
        report,
        store,
        sweep,
        walkforward,
    )

__version__ = "0.1.0"

__all__ = [
    "SweepResult",
    "WalkForwardResult",
    "__version__",
    "backtest",
    "compare",
    "load",
    "load_result",
    "lookahead",
    "plot",
    "report",
    "store",
    "sweep",
    "walkforward",
]
# The Python API (alphaforge.api), reachable from the package without importing it first.
API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> object:
    # Lazy: ``import alphaforge`` stays light; the engine loads on first use.
    if name in API:
        from alphaforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'alphaforge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
