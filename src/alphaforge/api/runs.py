"""Single runs from Python: ``alphaforge.backtest``, ``alphaforge.lookahead``,
``alphaforge.load_result``, and the local store (``alphaforge.load``, ``alphaforge.store``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alphaforge.api import inputs
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.panel import Panel
from alphaforge.ports import BarStore
from alphaforge.services.backtest import backtest
from alphaforge.services.results import load_result
from alphaforge.strategy.lookahead import LookaheadReport, check_lookahead

__all__ = ["backtest", "load", "load_result", "lookahead", "store"]


def lookahead(
    strategy: inputs.StrategyRef,
    data: Any,
    *,
    params: Mapping[str, Any] | None = None,
    cuts: int = 30,
    starts: int = 3,
    settle: float = 2.0,
    warmup: int | None = None,
    symbols: Sequence[str] | str | None = None,
    start: Any = None,
    end: Any = None,
    timeframe: str | None = None,
) -> LookaheadReport:
    """Look for look-ahead bias: signals must not change when later bars are cut off, nor
    (after the declared warm-up) with less history before them. As ``alphaforge lookahead``.

    Parameters
    ----------
    strategy, data, params, symbols, start, end, timeframe:
        As in :func:`alphaforge.backtest`.
    cuts, starts, settle, warmup:
        Truncation points, later starts of the warm-up check (0 skips it), how many warm-ups
        after a later start to compare, and an override of the declared warm-up (bars); see
        :func:`alphaforge.strategy.lookahead.check_lookahead`.

    Returns
    -------
    LookaheadReport
        ``.ok``, ``.summary()`` and ``.to_frame()`` (one row per differing value).
    """
    inputs.check_counts(cuts=(cuts, 1), starts=(starts, 0), warmup=(warmup, 0))
    if isinstance(settle, bool) or not isinstance(settle, int | float) or not 0 <= settle < 1e6:
        raise ConfigError(f"settle={settle!r}: a number >= 0")
    cls, fixed, _ = inputs.checked_strategy(strategy)
    strat = cls({**fixed, **dict(params or {})})  # parameters checked before the data is read
    panel = inputs.bars(data, symbols, start, end, timeframe)
    return check_lookahead(strat, panel, cuts=cuts, starts=starts, settle=settle, warmup=warmup)


def store(home: str | Path | None = None) -> BarStore:
    """The local market-data store of ``home`` (default: ``ALPHAFORGE_HOME`` or
    ``~/.alphaforge``), or the database of ``ALPHAFORGE_STORE_URL``: ``.read(...)``,
    ``.symbols()``, ``.write(...)`` (see :class:`alphaforge.ports.BarStore`)."""
    from alphaforge.config.settings import load_settings
    from alphaforge.services.store import open_store

    return open_store(load_settings(Path(home) if home is not None else None))


def load(
    symbols: Sequence[str] | str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    timeframe: str = "1d",
    adjust: bool = True,
    home: str | Path | None = None,
    panel: bool = False,
) -> pd.DataFrame | Panel:
    """Bars from the local store (filled by ``alphaforge data import`` / ``data fetch``).

    Parameters
    ----------
    symbols:
        One symbol or several (default: every stored symbol of ``timeframe``).
    start, end:
        Dates (inclusive); default: everything stored.
    timeframe:
        ``1d``, ``1h``, ``15m``, ``5m`` or ``1m``.
    adjust:
        Apply split and dividend adjustments (as backtests on the store do).
    home:
        The alphaforge home holding the store (default: ``ALPHAFORGE_HOME`` or
        ``~/.alphaforge``).
    panel:
        Return a :class:`~alphaforge.core.panel.Panel` (time x symbol arrays) instead of the
        long frame.

    Returns
    -------
    pandas.DataFrame or Panel
        Long bars ``symbol, timestamp, open, high, low, close, volume`` in time order, which
        :func:`alphaforge.backtest` and :func:`alphaforge.sweep` take as they are.
    """
    from alphaforge.core.timeframe import parse_timeframe
    from alphaforge.services.store import load_bars, load_panel

    names = [symbols] if isinstance(symbols, str) else (list(symbols) if symbols else None)
    tf = parse_timeframe(timeframe).name
    st = store(home)
    if panel:
        return load_panel(st, names, tf, start, end, adjust)
    bars = load_bars(st, names, tf, start, end, adjust)
    if bars.empty:
        raise DataError(f"no {tf} bars in the store for symbols={names!r}, start={start!r}, "
                        f"end={end!r}")  # fmt: skip
    return bars.reset_index(drop=True)
