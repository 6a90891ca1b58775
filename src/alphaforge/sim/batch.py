"""Batched fast path: many parameter sets of one strategy, one compiled call per chunk.

:func:`run_batch` computes the shared inputs once (one :class:`StrategyData` whose indicator cache
serves every parameter set, the config vector, period ids, levels), builds each parameter set's
signals, and hands a whole chunk of signal sets to one Numba call
(:mod:`alphaforge.sim.kernels_batch`) that runs the same simulation kernel as
:func:`~alphaforge.sim.vectorized.run_backtest` for each of them and reduces every trial to a row
of metrics. Nothing else is kept per trial, so memory is bounded by the chunk of signals.

Example
-------
>>> from alphaforge.sim.batch import run_batch
>>> grid = [{"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 10) if f < s]
>>> metrics, names = run_batch("sma_cross", grid, panel, BacktestConfig(slippage=...))
>>> best = grid[int(np.nanargmax(metrics[:, names.index("sharpe")]))]
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from alphaforge.analytics.frequency import per_period_rate
from alphaforge.core.errors import BacktestError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.checks import refuse_idle_orders, refuse_idle_settings
from alphaforge.sim.inputs import build_levels, market_of, run_clock
from alphaforge.sim.kernels_batch import (
    BATCH_METRICS,
    N_BATCH_METRICS,
    batch_per_symbol_nb,
    batch_portfolio_nb,
    interleaved,
    kernel_threads,
)
from alphaforge.sim.records import SETTINGS, Levels, Market, SignalStack
from alphaforge.sim.settings import settings_from_config
from alphaforge.strategy.base import SignalBatch, Signals, Strategy, StrategyData, StrategyParams
from alphaforge.strategy.registry import load_strategy_class

__all__ = ["METRIC_NAMES", "run_batch"]

METRIC_NAMES: tuple[str, ...] = BATCH_METRICS
"""Columns of the metrics matrix; same definitions as the keys of ``BacktestResult.metrics``."""

DEFAULT_SIGNAL_BYTES = 32 * 1024 * 1024
_FALSE111 = np.zeros((1, 1, 1), dtype=bool)
# what every strategy run here gives, as far as the order rules go: no price levels
_MARKET_ONLY = Signals(np.zeros((0, 0), np.bool_), np.zeros((0, 0), np.bool_))
_UNSUPPORTED = ("stop_loss", "take_profit", "limit_price", "stop_price", "priority")


@dataclass
class _Shared:
    """Inputs every trial of a batch shares."""

    s: np.ndarray  # one SETTINGS row
    rf_bar: float
    market: Market
    levels: Levels
    shorts: bool


def _shared_inputs(panel: Panel, config: BacktestConfig, sdata: StrategyData) -> _Shared:
    clock = run_clock(panel, config, sdata)
    market = market_of(panel, config, sdata, clock)
    settings = np.zeros(1, dtype=SETTINGS)
    settings[0] = settings_from_config(config, clock.periods_per_year, timeframe=clock.timeframe)
    settings["record"] = False
    settings["equity_only"] = True  # the reducer reads the equity series and the trades only
    ppy = clock.periods_per_year
    atr = None if market.atr.shape == (1, 1) else market.atr
    return _Shared(
        s=settings,
        rf_bar=per_period_rate(config.risk_free, ppy) if config.risk_free else 0.0,
        market=market,
        levels=build_levels(config, None, atr, panel.shape),
        shorts=config.direction != "long",
    )


def _strategy_class(strategy: str | type[Strategy]) -> type[Strategy]:
    return strategy if inspect.isclass(strategy) else load_strategy_class(str(strategy))


_ADAPTERS: dict[type[StrategyParams], TypeAdapter[list[StrategyParams]]] = {}


def _params_list(model: type[StrategyParams]) -> TypeAdapter[list[StrategyParams]]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


def _validated(cls: type[Strategy], chunk: Sequence[Mapping[str, Any]]) -> list[StrategyParams]:
    """All parameter sets of a chunk validated in one call (a bad one raises as ``cls(...)``)."""
    try:
        return _params_list(cls.Params).validate_python([dict(p) for p in chunk])
    except ValidationError:
        for params in chunk:
            cls(dict(params))  # the one-line StrategyError naming the set and the parameter
        raise


def _signal_set(strat: Strategy, sdata: StrategyData) -> Signals:
    out = strat.signals(sdata)
    if not isinstance(out, Signals):
        raise BacktestError(
            f"{strat.name or type(strat).__name__}: run_batch needs Signals (entries/exits); "
            "use run_backtest for target-weight strategies"
        )
    for name in _UNSUPPORTED:
        if getattr(out, name) is not None:
            raise BacktestError(
                f"{strat.name or type(strat).__name__}: run_batch does not take Signals.{name}; "
                "use run_backtest for this strategy"
            )
    return out


def _put(dst: np.ndarray, a: np.ndarray | None, shape: tuple[int, int], name: str) -> None:
    """Copy one (bars, symbols) mask into ``dst`` (same shape or transposed)."""
    if a is None:
        dst[...] = False
        return
    arr = np.asarray(a, dtype=bool)
    if arr.ndim == 1 and shape[1] == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape != shape:
        raise BacktestError(f"strategy output {name!r} has shape {arr.shape}, expected {shape}")
    dst[...] = arr if dst.shape == shape else arr.T


def _signal_buffers(
    n: int, shape: tuple[int, int], per_symbol: bool, shorts: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Masks for ``n`` trials, allocated once per run and reused by every chunk (fresh memory
    costs a page fault per page on first touch, and faults do not scale across threads)."""
    lay = (n, shape[1], shape[0]) if per_symbol else (n, *shape)
    ent = np.empty(lay, dtype=bool)
    ex = np.empty(lay, dtype=bool)
    se = np.empty(lay, dtype=bool) if shorts else _FALSE111
    sx = np.empty(lay, dtype=bool) if shorts else _FALSE111
    return ent, ex, se, sx


def _build_chunk(
    cls: type[Strategy],
    valid: Sequence[StrategyParams],
    sdata: StrategyData,
    per_symbol: bool,
    shorts: bool,
    buffers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    shape = sdata.shape
    k = len(valid)
    bufs = buffers or _signal_buffers(k, shape, per_symbol, shorts)
    ent, ex = bufs[0][:k], bufs[1][:k]
    se, sx = (bufs[2][:k], bufs[3][:k]) if shorts else (_FALSE111, _FALSE111)

    def view(a: np.ndarray) -> np.ndarray:  # (K, bars, symbols) whatever the layout
        return a.transpose(0, 2, 1) if per_symbol else a

    batch = SignalBatch(
        view(ent), view(ex), view(se) if shorts else None, view(sx) if shorts else None
    )
    if cls.has_batch_signals() and cls.batch_signals(sdata, valid, batch):
        return ent, ex, se, sx
    for i, params in enumerate(valid):
        sig = _signal_set(cls(params), sdata)
        _put(ent[i], sig.entries, shape, "entries")
        _put(ex[i], sig.exits, shape, "exits")
        if shorts:
            _put(se[i], sig.short_entries, shape, "short_entries")
            _put(sx[i], sig.short_exits, shape, "short_exits")
    return ent, ex, se, sx


def _transposed(a: np.ndarray) -> np.ndarray:
    """(bars, symbols) -> contiguous (symbols, bars); a (1, 1) broadcast array stays (1, 1)."""
    return a if a.shape == (1, 1) else np.ascontiguousarray(a.T)


def _kernel_inputs(panel: Panel, sh: _Shared, per_symbol: bool) -> tuple[Market, Levels]:
    """Market and levels in the layout of the batch kernel (once per run): as they are for
    portfolio trials, transposed to (symbols, bars) for per-symbol trials."""
    if not per_symbol:
        return sh.market, sh.levels
    mk = sh.market
    lv = Levels(*(_transposed(a) for a in sh.levels))
    mk_t = Market(
        _transposed(mk.open), _transposed(mk.high), _transposed(mk.low), _transposed(mk.close),
        _transposed(mk.volume), _transposed(mk.atr), _transposed(mk.vol), mk.sector, mk.day,
        mk.week,
    )  # fmt: skip
    return mk_t, lv


def _run_chunk(
    inputs: tuple[Market, Levels],
    sh: _Shared,
    sig: tuple[np.ndarray, ...],
    per_symbol: bool,
    out: np.ndarray,
) -> None:
    mk, lv = inputs
    stack = SignalStack(*sig)
    order = interleaved(stack.entries.shape[0])  # over the threads the kernel will use
    if per_symbol:
        batch_per_symbol_nb(mk, lv, stack, sh.s, sh.rf_bar, order, out)
    else:
        batch_portfolio_nb(mk, lv, stack, sh.s, sh.rf_bar, order, out)


def run_batch(
    strategy: str | type[Strategy],
    param_sets: Sequence[Mapping[str, Any]],
    panel: Panel,
    config: BacktestConfig | None = None,
    *,
    per_symbol: bool = False,
    chunk_size: int | None = None,
    n_workers: int | None = None,
    data: StrategyData | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Backtest ``strategy`` once per parameter set and return a metrics matrix.

    Parameters
    ----------
    strategy:
        A signal strategy class (or its registry name) whose ``signals`` returns
        :class:`~alphaforge.strategy.base.Signals` with entries/exits (and short entries/exits);
        price levels, limit/stop entries and priorities are not supported here.
    param_sets:
        One mapping of parameters per trial.
    panel:
        The bars; shared by every trial.
    config:
        Fill, cost, sizing and risk settings (default :class:`BacktestConfig`). Its exits
        (percent / ATR / absolute stops and targets) apply to every trial.
    per_symbol:
        False: each trial is one portfolio over all symbols, exactly as
        :func:`~alphaforge.sim.vectorized.run_backtest` on ``panel``. True: every symbol is its
        own single-symbol backtest, as ``run_backtest`` on a one-column panel with the same index.
    chunk_size:
        Trials whose signals are held in memory at once (default: as many as fit in 32 MB).
    n_workers:
        Threads of the compiled loop (default: Numba's current setting).
    data:
        A prepared :class:`StrategyData` (reuses its indicator cache across calls).

    Returns
    -------
    metrics, names:
        ``metrics`` is ``(K, M)`` (``(K, symbols, M)`` with ``per_symbol``) float64 with the
        columns ``names`` = :data:`METRIC_NAMES`: the same numbers as the equally named keys of
        ``run_backtest(...).metrics`` (``num_trades`` counts positions still open at the end).

    Raises
    ------
    BacktestError
        Fewer than 2 bars, a target-weight strategy, unsupported signal fields or mis-shaped
        signals.
    IdleSettingError
        A setting no trial acts on (see :func:`~alphaforge.sim.checks.refuse_idle_settings`),
        such as a time in force or an exit-ambiguity rule: every order here is a market order
        without the strategy's own levels.
    """
    if len(panel.index) < 2:
        raise BacktestError("need at least 2 bars to backtest")
    cfg = config if config is not None else BacktestConfig.build()
    refuse_idle_settings(cfg, weights_mode=False, has_fine=False)  # run_batch takes no finer bars
    cls = _strategy_class(strategy)
    sdata = data if data is not None else StrategyData(panel)
    sh = _shared_inputs(panel, cfg, sdata)
    n_k = len(param_sets)
    n_bars, n_sym = panel.shape
    out = np.full((n_k, n_sym, N_BATCH_METRICS) if per_symbol else (n_k, N_BATCH_METRICS), np.nan)
    per_trial = n_bars * n_sym * (4 if sh.shorts else 2)
    size = chunk_size or max(1, DEFAULT_SIGNAL_BYTES // per_trial)
    threads = kernel_threads(n_workers)
    try:
        valid = _validated(cls, param_sets)  # every set is checked before any work
        if cls.has_batch_signals():
            cls.batch_prepare(sdata, valid)  # what all chunks share, computed once
        bufs = _signal_buffers(min(size, n_k), panel.shape, per_symbol, sh.shorts)
        inputs = _kernel_inputs(panel, sh, per_symbol)
        for lo in range(0, n_k, size):
            chunk = valid[lo : lo + size]
            sig = _build_chunk(cls, chunk, sdata, per_symbol, sh.shorts, bufs)
            _run_chunk(inputs, sh, sig, per_symbol, out[lo : lo + len(chunk)])
        # no trial gave a price level (_signal_set refuses them): every order was a market order
        refuse_idle_orders(cfg, _MARKET_ONLY)
    finally:
        kernel_threads(threads)
    return out, METRIC_NAMES
