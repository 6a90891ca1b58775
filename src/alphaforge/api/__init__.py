"""The Python API: everything the command line does, from a notebook or a script.

Each function takes pandas data (or a :class:`~alphaforge.core.panel.Panel`, a CSV/Parquet
path, or bars from the local store via :func:`load`), checks its arguments before it reads
any data, and raises :class:`~alphaforge.core.errors.AlphaforgeError` subclasses with a
one-line message naming the bad argument and value. The same functions are reachable as
``alphaforge.<name>`` without importing this package first (``import alphaforge`` stays light).

Importing this package gives :class:`~alphaforge.sim.result.BacktestResult` its ``plot()`` and
``report(path)`` methods (see :mod:`alphaforge.api.views`).
"""

from __future__ import annotations

from alphaforge.api.runs import backtest, load, load_result, lookahead, store
from alphaforge.api.sweeps import SweepResult, sweep
from alphaforge.api.views import compare, plot, report
from alphaforge.api.walk_forward import WalkForwardResult, walkforward

__all__ = [
    "SweepResult",
    "WalkForwardResult",
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
