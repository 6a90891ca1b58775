"""Statistics of a closed-trade list.

The trade list is either the engine's trades DataFrame (columns ``pnl``, ``return``, ``bars_held``,
...) or, on the fast path, a mapping of the same names to numpy arrays so that no DataFrame has to
be built. Only ``pnl`` is required; ``return`` and ``bars_held`` add their statistics when present.

A trade is a *win* when its pnl is above zero and a *loss* when below; a break-even trade counts in
the number of trades (and so lowers the win rate) but is neither, and it ends both streaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from alphaforge.analytics.returns_metrics import NAN, FloatArray
from alphaforge.core.errors import DataError

TRADE_KEYS: tuple[str, ...] = (
    "n_trades",
    "win_rate",
    "profit_factor",
    "payoff_ratio",
    "expectancy",
    "expectancy_pct",
    "avg_win",
    "avg_loss",
    "best_trade",
    "worst_trade",
    "max_consecutive_wins",
    "max_consecutive_losses",
    "avg_bars_held",
)


def trade_column(trades: Any, name: str, required: bool = False) -> FloatArray | None:
    """Column ``name`` of a trades DataFrame or mapping as a float64 array (None when absent)."""
    if isinstance(trades, Mapping):
        if name not in trades:
            if required:
                raise DataError(f"trades: missing key {name!r}")
            return None
        return np.asarray(trades[name], dtype=np.float64)
    columns = getattr(trades, "columns", None)
    if columns is None:
        raise DataError(f"trades: expected a DataFrame or a mapping of arrays, got {type(trades)}")
    if name not in columns:
        if required:
            raise DataError(f"trades: missing column {name!r}")
        return None
    return np.asarray(trades[name].to_numpy(dtype=np.float64, na_value=np.nan))


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of consecutive True values in a boolean array."""
    if mask.size == 0:
        return 0
    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    if starts.size == 0:
        return 0
    ends = np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def trade_stats(trades: Any) -> dict[str, float]:
    """Win rate, profit factor, payoff, expectancy, streaks and holding period of a trade list.

    Parameters
    ----------
    trades:
        DataFrame or mapping with at least ``pnl``; optionally ``return`` and ``bars_held``.
        ``None`` or an empty list gives ``n_trades = 0`` and NaN for everything else.

    Returns
    -------
    dict[str, float]
        Keys of :data:`TRADE_KEYS`. ``profit_factor`` is gross profit / gross loss, ``inf`` when
        there are winners and no losers, NaN without trades. ``expectancy`` is the mean pnl per
        trade (money), ``expectancy_pct`` the mean trade return.
    """
    out = dict.fromkeys(TRADE_KEYS, NAN)
    pnl = None if trades is None else trade_column(trades, "pnl", required=True)
    if pnl is None or pnl.size == 0:
        out["n_trades"] = 0.0
        return out
    wins, losses = pnl > 0, pnl < 0
    n_win, n_loss = int(wins.sum()), int(losses.sum())
    gross_win = float(pnl[wins].sum())
    gross_loss = -float(pnl[losses].sum())
    avg_win = gross_win / n_win if n_win else NAN
    avg_loss = -gross_loss / n_loss if n_loss else NAN
    out.update(
        n_trades=float(pnl.size),
        win_rate=n_win / pnl.size,
        profit_factor=_profit_factor(gross_win, gross_loss),
        payoff_ratio=avg_win / -avg_loss if n_win and n_loss else NAN,
        expectancy=float(pnl.mean()),
        avg_win=avg_win,
        avg_loss=avg_loss,
        max_consecutive_wins=float(longest_run(wins)),
        max_consecutive_losses=float(longest_run(losses)),
    )
    ret = trade_column(trades, "return")
    if ret is not None:
        out.update(
            expectancy_pct=float(ret.mean()),
            best_trade=float(ret.max()),
            worst_trade=float(ret.min()),
        )
    held = trade_column(trades, "bars_held")
    if held is not None:
        out["avg_bars_held"] = float(held.mean())
    return out


def _profit_factor(gross_win: float, gross_loss: float) -> float:
    if gross_loss > 0:
        return gross_win / gross_loss
    return float("inf") if gross_win > 0 else NAN
