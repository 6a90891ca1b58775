"""The vectorized runner: strategy signals -> kernel inputs -> :class:`BacktestResult`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from alphaforge.analytics.metrics import summary_metrics
from alphaforge.core.errors import BacktestError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim import codes as C
from alphaforge.sim.checks import refuse_idle_settings
from alphaforge.sim.inputs import fine_of, intents_of, market_of, order_type_of, run_clock
from alphaforge.sim.kernels import series_sizes_nb, simulate_into_nb
from alphaforge.sim.records import Records, Series
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.settings import settings_from_config
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights

if TYPE_CHECKING:
    import pandas as pd


def ffill_rows(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs down each column (numpy only)."""
    n = a.shape[0]
    idx = np.where(np.isnan(a), 0, np.arange(n)[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    return np.take_along_axis(a, idx, axis=0)


def benchmark_curve(panel: Panel, cash: float, symbol: str | None) -> np.ndarray:
    """Buy and hold without costs: of ``symbol``, or equal weight of the symbols priced at bar 0."""
    close = panel.close
    if symbol is not None:
        cols = [panel.column(symbol)]
    else:
        cols = [j for j in range(close.shape[1]) if close[0, j] == close[0, j]] or [0]
    if len(cols) == 1:  # one column: a view, and a curve without NaN needs no more passes
        c1 = close[:, cols[0]]
        with np.errstate(invalid="ignore"):
            curve = c1 / c1[0]
        if not curve.size or not np.isnan(curve.min()):  # no NaN (nor a missing close)
            return np.multiply(curve, cash, out=curve)  # cash * (close / first close)
    c = close[:, cols]
    if np.isnan(c).any():  # a gap or a late listing: carry the last close, start at the first
        c = ffill_rows(c)
        first = c[np.argmax(~np.isnan(c), axis=0), np.arange(c.shape[1])]
    else:
        first = c[0]
    with np.errstate(invalid="ignore"):
        rel = c / first
    if np.isnan(rel).any():
        rel = np.where(np.isnan(rel), 1.0, rel)
    return cash * (rel[:, 0] if rel.shape[1] == 1 else rel.mean(axis=1))  # a mean of one: itself


def new_series(shape: tuple[int, int], s: np.void) -> Series:
    """The per-bar outputs :func:`simulate_into_nb` fills (sizes of :func:`series_sizes_nb`),
    allocated by NumPy (see :func:`simulate_into_nb` for why)."""
    n_bars, n_sym = shape
    m, rows, cols = series_sizes_nb(n_bars, n_sym, s)
    return Series(np.empty(n_bars), np.empty(m), np.empty(m), np.empty(m), np.zeros((rows, cols)))


def run_backtest(
    strategy: Strategy,
    panel: Panel,
    config: BacktestConfig,
    *,
    data: StrategyData | None = None,
    fine: dict[str, np.ndarray] | None = None,
    fast_paths: bool = True,
    refuse_idle_orders: bool = True,
) -> BacktestResult:
    """Run ``strategy`` on ``panel`` under ``config`` and return the full result.

    ``fast_paths=False`` runs every phase of every bar (no quiet-stretch shortcut); the result
    is identical, which the property tests check. A setting the run would ignore is refused
    (:func:`~alphaforge.sim.checks.refuse_idle_settings`); ``refuse_idle_orders=False`` runs
    an entry or exit rule the strategy's orders give nothing to act on (a time in force without
    limit entries, ...) without refusing it: the config of a run that happened, which the
    backtest ``drift`` compares it with, is taken as it ran.
    """
    if len(panel.index) < 2:
        raise BacktestError("need at least 2 bars to backtest")
    sdata = data if data is not None else StrategyData(panel)
    out = strategy.signals(sdata)
    if not isinstance(out, Signals | TargetWeights):
        raise BacktestError(f"{strategy.name}: signals() must return Signals or TargetWeights")
    weights_mode = isinstance(out, TargetWeights)
    refuse_idle_settings(
        config,
        weights_mode=weights_mode,
        has_fine=bool(fine),
        own_schedule=isinstance(out, TargetWeights) and out.rebalance is not None,
        signals=out if isinstance(out, Signals) and refuse_idle_orders else None,
    )
    clock = run_clock(panel, config, sdata)
    market = market_of(panel, config, sdata, clock)
    order_type = "market" if isinstance(out, TargetWeights) else order_type_of(config, out)
    intents = intents_of(out, panel, config, market, clock, order_type)
    settings = settings_from_config(
        config, clock.periods_per_year, weights_mode=weights_mode, fast_paths=fast_paths,
        timeframe=clock.timeframe,
    )  # fmt: skip
    series = new_series(panel.shape, settings)
    records = simulate_into_nb(market, intents, fine_of(fine, panel.shape), settings, series)
    # what config.resolved(...) dumps, without building the model again (a per-run cost)
    resolved = config.model_dump(mode="json")
    resolved.update(
        timeframe=clock.timeframe,
        calendar=clock.calendar.name,
        periods_per_year=clock.periods_per_year,
        order_type=order_type,
    )
    return _assemble(strategy, panel, config, resolved, sdata, (series, records))


def _metrics(
    config: BacktestConfig, ppy: float, series: Series, records: Records, bench: np.ndarray
) -> dict[str, float]:
    """Summary metrics of a run, annualised with ``ppy`` bars per year."""
    eq, gross = series.equity, series.gross
    trades, orders = records.trades, records.orders
    traded = (orders["bar"], orders["qty"] * np.nan_to_num(orders["price"]))  # per fill
    metrics = summary_metrics(
        eq, ppy, config.risk_free, benchmark=bench,
        trades={"pnl": trades["pnl"], "return": trades["ret"], "bars_held": trades["bars_held"]},
        exposure=gross, turnover=traded,
    )  # fmt: skip
    metrics["final_equity"] = float(eq[-1])
    metrics["num_trades"] = float(len(trades))
    metrics["ambiguous_bars"] = float(records.cnt[0]["ambiguous"])
    metrics["fees"] = float(np.nansum(orders["fee"])) if len(orders) else 0.0
    return metrics


def _assemble(
    strategy: Strategy,
    panel: Panel,
    config: BacktestConfig,
    resolved: dict[str, Any],
    sdata: StrategyData,
    out: tuple[Series, Records],
) -> BacktestResult:
    """The :class:`BacktestResult` of a kernel run (``out``) under ``config``; ``resolved`` is
    the configuration as the run used it (what ``result.config`` records)."""
    series, records = out
    eq, cash, gross, net, pos = series
    trades, orders, events = records.trades, records.orders, records.events
    n_ambiguous = int(records.cnt[0]["ambiguous"])
    bench = sdata.cached(
        ("benchmark", config.cash, config.benchmark),
        lambda: benchmark_curve(panel, config.cash, config.benchmark),
    )
    metrics = _metrics(config, float(resolved["periods_per_year"]), series, records, bench)
    warnings = ["fill=close: same-bar close fills are optimistic"] if config.fill == "close" else []
    warnings += idle_warning(orders, len(trades))
    warnings += bankrupt_warning(panel.index, eq)
    warnings += panel.meta.get("data_notes", [])  # bars used as they are (bad ticks, say)
    return BacktestResult(
        index=panel.index,
        symbols=panel.symbols,
        equity_values=eq,
        cash_values=cash,
        gross_values=gross,
        net_values=net,
        position_values=pos,
        trade_records=trades,
        order_records=orders,
        event_records=events,
        benchmark_values=bench,
        metrics=metrics,
        config=resolved,
        strategy=strategy.name or type(strategy).__name__,
        params=strategy.params.model_dump(mode="json"),
        ambiguous_bars=n_ambiguous,
        warnings=warnings,
        manifest_extra={
            "data_start": panel.index[0].isoformat(),
            "data_end": panel.index[-1].isoformat(),
            "bars": panel.shape[0],
            "symbols": list(panel.symbols),
            "warmup_bars": strategy.warmup(),
        },
        data_arrays=(
            panel.index.asi8,
            panel.open,
            panel.high,
            panel.low,
            panel.close,
            panel.volume,
        ),
        close_values=panel.close,
    )


def bankrupt_warning(index: pd.DatetimeIndex, equity: np.ndarray) -> list[str]:
    """A warning for a run whose equity fell to zero or below (leverage, a short squeezed): no
    margin call is modelled, so it went on trading an account a broker would have closed."""
    hit = np.flatnonzero(equity <= 0.0)
    if not len(hit):
        return []
    i = int(hit[0])
    when = index[i]
    day = f"{when:%Y-%m-%d}" if when == when.normalize() else when.isoformat()
    return [
        f"equity fell to {equity[i]:,.2f} on {day}: the account was bankrupt there and no "
        "margin call is modelled, so the run went on trading it; the metrics describe no real "
        "account (lower the sizing or risk.max_gross_leverage, or set risk.max_drawdown, whose "
        "default action closes every position and stops)"
    ]


def idle_warning(orders: np.ndarray, n_trades: int) -> list[str]:
    """A warning for a run that traded nothing although it placed orders: every order was
    rejected or expired (e.g. too little cash for one share, a participation cap that leaves
    no volume), counted by reason."""
    if n_trades or not len(orders) or (orders["qty"] > 0).any():
        return []
    codes, counts = np.unique(orders["reason"], return_counts=True)
    order = np.argsort(-counts, kind="stable")  # the most frequent reason first
    why = ", ".join(
        f"{C.REASON_NAMES.get(int(codes[i]), str(int(codes[i])))} x{int(counts[i])}" for i in order
    )
    return [f"no trade: none of the {len(orders)} orders filled ({why}); see result.orders"]
