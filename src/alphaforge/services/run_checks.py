"""Checks of a run spec and its panel that refuse (or flag) a run built on the wrong inputs.

- :func:`require_universe`: a run on the local store states its symbols; the store may hold
  series of every kind (sample, real, crypto, indices) and "all of them" is never a portfolio.
- :func:`check_calendars`: one portfolio trades on one calendar; equities next to a crypto pair
  (or a series with weekend bars) are refused unless ``calendar:`` is set.
- :func:`warmup_note`: the reason a run is refused when its data is shorter than the
  strategy's warm-up; :func:`atr_note` when its ATR distances could never be measured.
- :func:`slice_dates`: the bars between a spec's start and end; none is refused with the range
  the data do cover.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.calendar import looks_like_crypto
from alphaforge.core.errors import ConfigError, PeriodError
from alphaforge.core.panel import Panel, short_time


def require_universe(spec: Any) -> None:
    """Refuse a run on the local store without symbols (a data file is its own universe)."""
    if spec.data or spec.symbols:
        return
    raise ConfigError(
        f"{spec.source}: symbols: none given; a run on the local store needs its universe "
        "(--symbols A B or 'symbols: [A, B]'; `alphaforge data list` shows what is stored)"
    )


def _continuous(panel: Panel) -> list[bool]:
    """Per symbol: does it trade around the clock (a crypto pair, or bars on a weekend)?"""
    weekend = np.asarray(panel.index.day_of_week) >= 5
    has_bar = ~np.isnan(panel.close)
    return [
        looks_like_crypto(s) or bool((weekend & has_bar[:, j]).any())
        for j, s in enumerate(panel.symbols)
    ]


def check_calendars(panel: Panel, calendar: str | None, source: str) -> None:
    """Refuse a portfolio that mixes 24/7 symbols with exchange-hours ones unless ``calendar``
    is given (it decides the annualisation and the sessions of every symbol)."""
    if calendar or len(panel.symbols) < 2:
        return
    flags = _continuous(panel)
    if all(flags) or not any(flags):
        return
    always = [s for s, f in zip(panel.symbols, flags, strict=True) if f]
    hours = [s for s, f in zip(panel.symbols, flags, strict=True) if not f]
    raise ConfigError(
        f"{source}: symbols: mix calendars, 24/7 ({_few(always)}) and exchange hours "
        f"({_few(hours)}); run them separately, or set 'calendar:' (24/7 or XNYS) to trade "
        "them in one portfolio on that calendar"
    )


def _few(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def warmup_note(warmup: int, panel: Panel, start: str = "--start") -> str | None:
    """Why a run cannot trade when the data is shorter than the strategy's warm-up (``start``:
    the option that starts it earlier)."""
    bars = len(panel.index)
    if bars < warmup:
        return (
            f"only {bars} bar(s) of data for a warm-up of {warmup} bar(s): the strategy's "
            f"signals never start; give more data (an earlier {start}) or a shorter lookback"
        )
    return None


def atr_note(cfg: Any, panel: Panel, start: str = "--start") -> str | None:
    """Why a run's ATR distances never act: ``exits.atr_period`` is not shorter than its data
    (a stop of ``2atr`` with a period of a million bars was a run without a stop)."""
    from alphaforge.sim.inputs import needs_atr

    bars, period = len(panel.index), cfg.exits.atr_period
    if needs_atr(cfg) and period >= bars:
        return (
            f"exits.atr_period: {period} bars is not shorter than the {bars} bar(s) of data, so "
            "the ATR the stop, target or slippage is measured in is never known and they never "
            f"act; give a shorter period or more data (an earlier {start})"
        )
    return None


def volume_note(cfg: Any, panel: Panel) -> str | None:
    """Why ``costs.participation`` would not act: the bars have no volume (a frame without a
    volume column, say), so no fill is ever capped."""
    share = cfg.costs.participation
    if share > 0.0 and bool(np.isnan(panel.volume).all()):
        return (
            f"costs.participation: {share:g} caps each fill at that share of its bar's volume, "
            "and the data have no volume, so it never acts; remove it or give bars with volume"
        )
    return None


def cannot_trade(warmup: int, cfg: Any, panel: Panel, start: str) -> str | None:
    """Why a run of ``cfg`` on ``panel`` could not trade as configured: the first of
    :func:`warmup_note`, :func:`atr_note` and :func:`volume_note` (``start``: the option or
    argument that starts it earlier)."""
    return (warmup_note(warmup, panel, start) or atr_note(cfg, panel, start)
            or volume_note(cfg, panel))  # fmt: skip


def date_arg(value: Any, name: str, end: bool = False) -> pd.Timestamp | None:
    """A ``start`` / ``end`` argument of the Python API as UTC (an inclusive end of a date
    alone is its whole day); text that is not a date, or a number (read as nanoseconds since
    1970 it would select everything), is refused naming the argument."""
    import datetime as dt

    from alphaforge.data.schema import to_utc, to_utc_end

    if value is None:
        return None
    if not isinstance(value, str | dt.date | pd.Timestamp | np.datetime64):
        raise ConfigError(f"{name}={value!r}: a date is text (YYYY-MM-DD), a datetime or a "
                          f"Timestamp, got {type(value).__name__}")  # fmt: skip
    try:
        when = value if isinstance(value, str) else pd.Timestamp(value)
        return to_utc_end(when) if end else to_utc(when)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"{name}={value!r}: not a date; write YYYY-MM-DD") from None


def period_of(panel: Panel, start: Any, end: Any) -> Panel:
    """The bars of ``panel`` from ``start`` to ``end`` (Python API arguments, either None);
    a period with fewer than 2 bars is refused naming both and the data's span."""
    first, last = date_arg(start, "start"), date_arg(end, "end", end=True)
    if first is None and last is None:
        return panel
    sliced = panel.slice(first, last)
    if len(sliced.index) >= 2:
        return sliced
    span = (f"the data run from {short_time(panel.index[0])} to {short_time(panel.index[-1])}"
            if len(panel.index) else "the data have no bars")  # fmt: skip
    raise PeriodError(f"start={start!r}, end={end!r}: {len(sliced.index)} bar(s) in that "
                      f"period (a backtest needs 2); {span}")  # fmt: skip


def slice_dates(panel: Panel, start: str | None, end: str | None) -> Panel:
    """The bars of ``panel`` from ``start`` to ``end`` (either may be ``None``: open-ended).

    Raises
    ------
    PeriodError
        When none is left: ``no bars from 2030-01-01 on; the data run from ... to ...`` (bad
        input, exit code 2).
    """
    from alphaforge.data.schema import to_utc, to_utc_end

    if not (start or end):
        return panel
    sliced = panel.slice(to_utc(start), to_utc_end(end))
    if len(sliced.index):
        return sliced
    if start and end:
        when = f"between {start} and {end}"
    else:
        when = f"from {start} on" if start else f"up to {end}"
    have = (
        f"; the data run from {short_time(panel.index[0])} to {short_time(panel.index[-1])}"
        if len(panel.index)
        else ""
    )
    raise PeriodError(f"no bars {when}{have}")
