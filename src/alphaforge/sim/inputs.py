"""Kernel inputs of a run: the run's clock (calendar, annualisation, day and week ids), the
strategy's output checked and shaped into :class:`~alphaforge.sim.records.Intents`, protective
levels, and the market arrays derived from the panel. Used by the single backtest and by the
batch runner alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.calendar import Calendar, infer_calendar, rebalance_mask
from alphaforge.core.costs import Level
from alphaforge.core.errors import BacktestError, StrategyError
from alphaforge.core.panel import Panel, short_time
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.records import Fine, Intents, Levels, Market
from alphaforge.strategy.base import Signals, StrategyData, TargetWeights

_NAN11 = np.full((1, 1), np.nan)
_FALSE11 = np.zeros((1, 1), dtype=bool)
_ZERO11 = np.zeros((1, 1))
_NOFINE = np.full((1, 1), -1, dtype=np.int64)
_EMPTY = np.empty(0)
NO_FINE = Fine(_NOFINE, _NOFINE, _EMPTY, _EMPTY)


@dataclass(frozen=True)
class RunClock:
    """When things happen in a run: its timeframe and calendar, bars per year (for annual
    rates and metrics), and the trading-day and week number of each bar."""

    timeframe: str
    calendar: Calendar
    periods_per_year: float
    day: np.ndarray
    week: np.ndarray


def run_clock(panel: Panel, config: BacktestConfig, sdata: StrategyData | None = None) -> RunClock:
    """The clock of ``config`` on ``panel``: the configured timeframe and calendar or those the
    data imply; ``periods_per_year`` from the config when set, else from the calendar."""
    timeframe = config.timeframe or panel.timeframe
    cal = infer_calendar(config.calendar, symbols=panel.symbols)
    ppy = float(config.periods_per_year or cal.periods_per_year(timeframe))

    keys = (("day_ids", timeframe, cal.name), ("week_ids", timeframe, cal.name))
    cache = sdata.cache if sdata is not None else {}
    if keys[0] in cache and keys[1] in cache:
        day, week = cache[keys[0]], cache[keys[1]]
    else:  # both from one pass over the timestamps
        day, week = cal.period_ids(panel.index, timeframe)
        cache[keys[0]], cache[keys[1]] = day, week
    return RunClock(timeframe, cal, ppy, day, week)


def needs_atr(config: BacktestConfig) -> bool:
    """Whether slippage or an exit distance is a multiple of the ATR."""
    ex = config.exits
    return config.costs.slippage.atr > 0 or any(
        lv is not None and lv.kind == "atr"
        for lv in (ex.stop_loss, ex.take_profit, ex.trailing_stop)
    )


def sector_ids(panel: Panel, config: BacktestConfig) -> np.ndarray:
    """One integer per symbol: its sector's, or its own when it has no sector."""
    sectors = np.arange(panel.shape[1], dtype=np.int64)
    if config.risk.sectors:
        names = sorted(set(config.risk.sectors.values()))
        sectors = np.array(
            [names.index(config.risk.sectors[s]) if s in config.risk.sectors else len(names) + j
             for j, s in enumerate(panel.symbols)],
            dtype=np.int64,
        )  # fmt: skip
    return sectors


def market_of(panel: Panel, config: BacktestConfig, sdata: StrategyData, clock: RunClock) -> Market:
    """The :class:`Market` of a run: bars, ATR and volatility when a rule needs them, sectors,
    day and week ids."""
    atr = sdata.atr(config.exits.atr_period) if needs_atr(config) else None
    vol = (
        vol_array(panel, config.sizing.vol_lookback, clock.periods_per_year)
        if config.sizing.method == "vol_target"
        else _NAN11
    )
    return Market(
        panel.open, panel.high, panel.low, panel.close, panel.volume,
        np.ascontiguousarray(atr) if atr is not None else _NAN11, np.ascontiguousarray(vol),
        sector_ids(panel, config), clock.day, clock.week,
    )  # fmt: skip


def intents_of(
    out: Signals | TargetWeights,
    panel: Panel,
    config: BacktestConfig,
    market: Market,
    clock: RunClock,
    order_type: str,
) -> Intents:
    """The strategy's output checked (shapes) and shaped for the kernel; ``order_type`` is the
    one :func:`order_type_of` chose (``market`` drops the strategy's limit / stop prices)."""
    shape = panel.shape
    atr = market.atr if needs_atr(config) else None

    def b2(a: np.ndarray | None, name: str) -> np.ndarray:
        got = _as2d(a, shape, bool, name)
        return _FALSE11 if got is None else got

    def f2(a: np.ndarray | None, name: str, default: np.ndarray = _NAN11) -> np.ndarray:
        got = _as2d(a, shape, np.float64, name)
        return default if got is None else got

    if isinstance(out, TargetWeights):
        weights = f2(out.weights, "weights")
        if np.isinf(weights).any():
            _refuse_value(panel, "weights", weights, np.isinf(weights), "a weight must be finite")
        rebal = (
            _rebalance_of(out.rebalance, shape[0])
            if out.rebalance is not None
            else rebalance_mask(config.rebalance, clock.day, clock.week)
        )
        return Intents(
            _FALSE11, _FALSE11, _FALSE11, _FALSE11, weights, rebal,
            build_levels(config, None, atr, shape), _NAN11, _NAN11,
            f2(out.priority, "priority", _ZERO11),
        )  # fmt: skip
    sig = out
    if order_type == "market" and (sig.limit_price is not None or sig.stop_price is not None):
        sig = dataclasses.replace(sig, limit_price=None, stop_price=None)  # (prices not used)
    levels = build_levels(config, sig, atr, shape)
    limit, stop = f2(sig.limit_price, "limit_price"), f2(sig.stop_price, "stop_price")
    for name, a in (("limit_price", limit), ("stop_price", stop),
                    ("stop_loss", levels.sl_price), ("take_profit", levels.tp_price)):  # fmt: skip
        if a is not _NAN11:  # (the shared NaN: not given)
            _check_prices(panel, name, a)
    return Intents(
        b2(sig.entries, "entries"), b2(sig.exits, "exits"),
        b2(sig.short_entries, "short_entries"), b2(sig.short_exits, "short_exits"),
        _NAN11, np.zeros(shape[0], dtype=bool), levels, limit, stop,
        f2(sig.priority, "priority", _ZERO11),
    )  # fmt: skip


def _check_prices(panel: Panel, name: str, a: np.ndarray) -> None:
    """Refuse a strategy's price that is not a positive finite number (NaN: no price there):
    a negative limit never filled and a negative stop-loss level meant no stop, without a
    word."""
    with np.errstate(invalid="ignore"):
        ok = (a > 0.0) & (a < np.inf)
    if not ok.all():
        bad = ~ok & ~np.isnan(a)
        if bad.any():
            _refuse_value(panel, name, a, bad, "a price must be positive and finite (NaN: none)")


def _refuse_value(panel: Panel, name: str, a: np.ndarray, bad: np.ndarray, what: str) -> None:
    i, j = np.unravel_index(int(np.argmax(bad)), bad.shape)
    bar = short_time(panel.index[int(i)])
    raise StrategyError(
        f"strategy output {name!r}: {float(a[i, j])!r} at {panel.symbols[int(j)]} {bar}: {what}"
    )


def _rebalance_of(a: Any, bars: int) -> np.ndarray:
    """A strategy's own rebalance mask: one flag per bar (the kernel reads it by bar; a shorter
    one read past its end)."""
    arr = np.asarray(a)
    if arr.shape != (bars,):
        raise BacktestError(
            f"strategy output 'rebalance' has shape {arr.shape}, expected ({bars},): one flag "
            "per bar"
        )
    return np.ascontiguousarray(arr, dtype=bool)


def _as2d(a: np.ndarray | None, shape: tuple[int, int], dtype: Any, name: str) -> np.ndarray | None:
    if a is None:
        return None
    arr = np.asarray(a, dtype=dtype)
    if arr.ndim == 1 and shape[1] == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape != shape:
        raise BacktestError(f"strategy output {name!r} has shape {arr.shape}, expected {shape}")
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:  # (a frame's values under copy-on-write): one array type for
        arr = arr.copy()  # the kernel, which a read-only array does not match
    return arr


def _level_arrays(
    lvl: Level | None, pct: str, dist: str, atr: np.ndarray | None, parts: dict[str, np.ndarray]
) -> None:
    if lvl is None:
        return
    if lvl.kind == "pct":
        parts[pct] = np.full((1, 1), lvl.value)
    elif lvl.kind == "abs":
        parts[dist] = np.full((1, 1), lvl.value)
    else:
        assert atr is not None
        parts[dist] = lvl.value * atr


def build_levels(
    cfg: BacktestConfig, sig: Signals | None, atr: np.ndarray | None, shape: tuple[int, int]
) -> Levels:
    """The protective-exit settings read at the signal bar (:class:`Levels`): one number for
    a setting of the config, an array for an ATR multiple or a strategy's prices (no copy),
    a shared (1, 1) NaN for what is not set."""
    parts: dict[str, np.ndarray] = {}
    _level_arrays(cfg.exits.stop_loss, "sl_pct", "sl_abs", atr, parts)
    _level_arrays(cfg.exits.take_profit, "tp_pct", "tp_abs", atr, parts)
    _level_arrays(cfg.exits.trailing_stop, "trail_pct", "trail_abs", atr, parts)
    if sig is not None:
        for field, name in (("sl_price", "stop_loss"), ("tp_price", "take_profit")):
            got = _as2d(getattr(sig, name), shape, np.float64, name)  # (writeable: see _as2d)
            if got is not None:
                parts[field] = got
    return Levels(*(parts.get(f, _NAN11) for f in Levels._fields))


def order_type_of(config: BacktestConfig, sig: Signals | None) -> str:
    """The order type used: the configured one, or with ``auto`` the one the strategy's prices
    imply. A type that needs prices the strategy does not give is refused (never silently
    market)."""
    has_limit = sig is not None and sig.limit_price is not None
    has_stop = sig is not None and sig.stop_price is not None
    wanted = getattr(config, "order_type", "market")
    if wanted == "auto":
        if has_limit and has_stop:
            return "stop_limit"
        return "limit" if has_limit else "stop" if has_stop else "market"
    need: tuple[str, ...] = {"limit": ("limit_price",), "stop": ("stop_price",)}.get(wanted, ())
    if wanted == "stop_limit":
        need = ("limit_price", "stop_price")
    for name in need:
        if sig is None or getattr(sig, name) is None:
            raise BacktestError(f"order_type={wanted}: the strategy gives no {name}")
    if (wanted == "limit" and has_stop) or (wanted == "stop" and has_limit):
        raise BacktestError(
            f"order_type={wanted}: the strategy also gives "
            f"{'stop_price' if wanted == 'limit' else 'limit_price'}; use stop_limit or auto"
        )
    return str(wanted)


def vol_array(panel: Panel, lookback: int, ppy: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(panel.close[1:] / panel.close[:-1])
    lr = np.vstack([np.full((1, lr.shape[1]), np.nan), lr])
    return pd.DataFrame(lr).rolling(lookback).std().to_numpy() * np.sqrt(ppy)


def check_fine(fine: dict[str, np.ndarray] | None, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Validate the finer bars used by ``ambiguity="finer_bars"``.

    ``high``/``low``: the finer bars' highs and lows, flattened (1-D, same length);
    ``start``/``end``: (bars, symbols) integer offsets, finer bars ``[start, end)`` of each
    (bar, symbol), ``-1`` where there are none. The kernel does not bounds-check, so bad offsets
    are rejected here.
    """
    if not fine:
        return {}
    missing = {"start", "end", "high", "low"} - set(fine)
    if missing:
        raise BacktestError(f"fine: missing key(s) {', '.join(sorted(missing))}")
    hi = np.ascontiguousarray(fine["high"], dtype=np.float64)
    lo = np.ascontiguousarray(fine["low"], dtype=np.float64)
    if hi.ndim != 1 or hi.shape != lo.shape:
        raise BacktestError(
            f"fine: high/low must be 1-D of equal length, got {hi.shape}/{lo.shape}"
        )
    out: dict[str, np.ndarray] = {"high": hi, "low": lo}
    for key in ("start", "end"):
        a = np.ascontiguousarray(fine[key], dtype=np.int64)
        if a.shape not in {shape, (1, 1)}:
            raise BacktestError(f"fine: {key} has shape {a.shape}, expected {shape}")
        out[key] = a
    st, en = out["start"], out["end"]
    used = st >= 0
    if np.any(used & ((en < st) | (en > len(hi)))) or np.any(~used & (st != -1)):
        raise BacktestError(f"fine: start/end offsets must satisfy 0 <= start <= end <= {len(hi)}")
    return out


def fine_of(fine: dict[str, np.ndarray] | None, shape: tuple[int, int]) -> Fine:
    """The validated finer bars as the kernel's :class:`Fine` (none: :data:`NO_FINE`)."""
    got = check_fine(fine, shape)
    if not got:
        return NO_FINE
    return Fine(got["start"], got["end"], got["high"], got["low"])
