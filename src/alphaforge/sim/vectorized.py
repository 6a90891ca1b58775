"""The vectorized runner: strategy signals -> kernel inputs -> :class:`BacktestResult`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphaforge.analytics.frequency import periods_per_year
from alphaforge.analytics.metrics import summary_metrics
from alphaforge.config.backtest import BacktestConfig
from alphaforge.core.errors import BacktestError
from alphaforge.data.panel import Panel
from alphaforge.sim import codes as C
from alphaforge.sim.kernels import simulate_nb
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.specs import Level, parse_commission, parse_level, parse_slippage
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights

_NAN11 = np.full((1, 1), np.nan)
_FALSE11 = np.zeros((1, 1), dtype=bool)
_ZERO11 = np.zeros((1, 1))
_NOFINE = np.full((1, 1), -1, dtype=np.int64)
_EMPTY = np.empty(0)


def infer_calendar(panel: Panel, config: BacktestConfig) -> str:
    if config.calendar:
        return config.calendar
    if any("/" in s or s.upper().endswith(("USDT", "-USD")) for s in panel.symbols):
        return "24/7"
    return "XNYS"


def period_ids(
    index: pd.DatetimeIndex, timeframe: str, calendar: str
) -> tuple[np.ndarray, np.ndarray]:
    """Trading-day and week numbers of each bar (exchange-local dates for equities)."""
    index = index.as_unit("ns")  # asi8 counts in the index's own unit (s/ms/us/ns)
    ns = index.asi8
    if timeframe != "1d" and calendar not in {"24/7", "crypto"}:
        local = index.tz_convert("America/New_York") if index.tz is not None else index
        ns = local.tz_localize(None).asi8 if local.tz is not None else local.asi8
    day = ns // 86_400_000_000_000
    week = (day + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday
    return day.astype(np.int64), week.astype(np.int64)


def rebalance_mask(
    index: pd.DatetimeIndex, schedule: str, day: np.ndarray, week: np.ndarray
) -> np.ndarray:
    """True on the last bar of each period: its close decides, the next open trades."""
    n = len(index)
    if schedule == "every_bar":
        return np.ones(n, dtype=bool)
    if schedule == "daily":
        key = day
    elif schedule == "weekly":
        key = week
    else:
        dates = pd.DatetimeIndex(day.astype("datetime64[D]"))
        key = dates.year.to_numpy() * 12 + dates.month.to_numpy() - 1
        if schedule == "quarterly":
            key = key // 3
    mask = np.zeros(n, dtype=bool)
    mask[:-1] = key[1:] != key[:-1]
    return mask


def _as2d(a: np.ndarray | None, shape: tuple[int, int], dtype: Any, name: str) -> np.ndarray | None:
    if a is None:
        return None
    arr = np.asarray(a, dtype=dtype)
    if arr.ndim == 1 and shape[1] == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape != shape:
        raise BacktestError(f"strategy output {name!r} has shape {arr.shape}, expected {shape}")
    return np.ascontiguousarray(arr)


def _level_arrays(
    lvl: Level | None, pct_i: int, abs_i: int, atr: np.ndarray | None, parts: dict[int, np.ndarray]
) -> None:
    if lvl is None:
        return
    if lvl.kind == "pct":
        parts[pct_i] = np.full((1, 1), lvl.value)
    elif lvl.kind == "abs":
        parts[abs_i] = np.full((1, 1), lvl.value)
    else:
        assert atr is not None
        parts[abs_i] = lvl.value * atr


def build_levels(
    cfg: BacktestConfig, sig: Signals | None, atr: np.ndarray | None, shape: tuple[int, int]
) -> np.ndarray:
    """(8, rows, cols) array of protective-exit settings read at the signal bar."""
    parts: dict[int, np.ndarray] = {}
    _level_arrays(parse_level(cfg.exits.stop_loss, "exits.stop_loss"), 0, 1, atr, parts)
    _level_arrays(parse_level(cfg.exits.take_profit, "exits.take_profit"), 3, 4, atr, parts)
    _level_arrays(parse_level(cfg.exits.trailing_stop, "exits.trailing_stop"), 6, 7, atr, parts)
    if sig is not None:
        if sig.stop_loss is not None:
            parts[2] = _as2d(sig.stop_loss, shape, np.float64, "stop_loss")  # type: ignore[assignment]
        if sig.take_profit is not None:
            parts[5] = _as2d(sig.take_profit, shape, np.float64, "take_profit")  # type: ignore[assignment]
    if not parts:
        return np.full((8, 1, 1), np.nan)
    full = any(p.shape != (1, 1) for p in parts.values())
    out = np.full((8, *(shape if full else (1, 1))), np.nan)
    for k, p in parts.items():
        out[k] = p
    return out


def config_vector(cfg: BacktestConfig, ppy: float) -> np.ndarray:
    f = np.zeros(C.N_FIELDS)
    comm = parse_commission(cfg.costs.commission)
    slip = parse_slippage(cfg.costs.slippage)
    r = cfg.risk
    f[C.F_INIT_CASH] = cfg.cash
    f[C.F_FILL_CLOSE] = 1.0 if cfg.fill == "close" else 0.0
    f[C.F_DIRECTION] = {"long": 0.0, "short": 1.0, "long_short": 2.0}[cfg.direction]
    f[C.F_COMM_PCT], f[C.F_COMM_SHARE], f[C.F_COMM_MIN] = (
        comm.pct,
        comm.per_share,
        comm.min_per_order,
    )
    f[C.F_COMM_MAX_PCT], f[C.F_COMM_FIXED] = comm.max_pct, comm.fixed
    f[C.F_SLIP_BPS], f[C.F_SPREAD], f[C.F_SLIP_ATR] = slip.bps, slip.spread, slip.atr
    f[C.F_PARTICIPATION] = cfg.costs.participation
    f[C.F_BORROW], f[C.F_MARGIN], f[C.F_CASH_RATE] = (
        cfg.costs.borrow_fee,
        cfg.costs.margin,
        cfg.costs.cash_rate,
    )
    f[C.F_PPY] = ppy
    f[C.F_SIZING] = C.SIZING_NAMES.index(cfg.sizing.method)
    f[C.F_SIZE_VALUE] = cfg.sizing.resolved_value()
    f[C.F_FRACTIONAL] = float(cfg.sizing.fractional)
    f[C.F_KELLY_LOOKBACK] = cfg.sizing.kelly_lookback
    f[C.F_KELLY_MIN] = cfg.sizing.kelly_min_trades
    f[C.F_KELLY_FALLBACK] = cfg.sizing.kelly_fallback
    f[C.F_STOP_ON_ENTRY] = float(cfg.exits.stop_on_entry_bar)
    f[C.F_AMBIGUITY] = C.AMBIGUITY_NAMES.index(cfg.exits.ambiguity)
    f[C.F_MAX_BARS] = cfg.exits.max_bars or 0
    f[C.F_MAX_POSITIONS] = r.max_positions or 0
    f[C.F_MAX_WEIGHT] = r.max_weight or 0.0
    f[C.F_SECTOR_CAP] = r.max_sector_exposure or 0.0
    f[C.F_MIN_CASH] = r.min_cash
    f[C.F_MAX_GROSS] = r.max_gross_leverage or 0.0
    f[C.F_MAX_NET] = r.max_net_leverage or 0.0
    f[C.F_TRADE_MAX_LOSS] = r.max_trade_loss or 0.0
    f[C.F_DAILY_LOSS] = r.daily_loss_limit or 0.0
    f[C.F_WEEKLY_LOSS] = r.weekly_loss_limit or 0.0
    f[C.F_MAX_DD] = r.max_drawdown or 0.0
    f[C.F_DD_ACTION] = {"flatten": 1, "halt": 2, "flatten_and_halt": 3}[r.drawdown_action]
    f[C.F_DRIFT_BAND] = cfg.drift_band
    f[C.F_TIF_GTC] = 1.0 if cfg.time_in_force == "gtc" else 0.0
    f[C.F_RECORD] = float(cfg.record_positions)
    return f


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
    c = ffill_rows(close[:, cols])
    first_row = np.argmax(~np.isnan(c), axis=0)
    first = c[first_row, np.arange(c.shape[1])]
    with np.errstate(invalid="ignore"):
        rel = c / first
    rel = np.where(np.isnan(rel), 1.0, rel)
    return cash * rel.mean(axis=1)


def _vol_array(panel: Panel, lookback: int, ppy: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(panel.close[1:] / panel.close[:-1])
    lr = np.vstack([np.full((1, lr.shape[1]), np.nan), lr])
    return pd.DataFrame(lr).rolling(lookback).std().to_numpy() * np.sqrt(ppy)


def _check_weights_exits(config: BacktestConfig) -> None:
    """Protective exits belong to positions opened by entry signals; a target-weight strategy
    would silently run without them, so asking for them is an error."""
    ex = config.exits
    for key, value in (
        ("exits.stop_loss", ex.stop_loss),
        ("exits.take_profit", ex.take_profit),
        ("exits.trailing_stop", ex.trailing_stop),
        ("risk.max_trade_loss", config.risk.max_trade_loss),
    ):
        if value is not None and parse_level(value if key.startswith("exits") else 1.0, key):
            raise BacktestError(
                f"{key}: protective exits apply to Signals strategies, not TargetWeights"
            )


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


def run_backtest(
    strategy: Strategy,
    panel: Panel,
    config: BacktestConfig,
    *,
    data: StrategyData | None = None,
    fine: dict[str, np.ndarray] | None = None,
) -> BacktestResult:
    """Run ``strategy`` on ``panel`` under ``config`` and return the full result."""
    if len(panel.index) < 2:
        raise BacktestError("need at least 2 bars to backtest")
    sdata = data if data is not None else StrategyData(panel)
    out = strategy.signals(sdata)
    shape = panel.shape
    timeframe = config.timeframe or panel.timeframe
    calendar = infer_calendar(panel, config)
    ppy = periods_per_year(timeframe, calendar)
    need_atr = parse_slippage(config.costs.slippage).atr > 0 or any(
        (lv := parse_level(s, "exit")) is not None and lv.kind == "atr"
        for s in (config.exits.stop_loss, config.exits.take_profit, config.exits.trailing_stop)
    )
    atr = sdata.atr(config.exits.atr_period) if need_atr else None
    ids = sdata.cached(
        ("period_ids", timeframe, calendar),
        lambda: np.vstack(period_ids(panel.index, timeframe, calendar)),
    )
    day, week = ids[0], ids[1]
    sig = out if isinstance(out, Signals) else None
    weights_mode = isinstance(out, TargetWeights)
    if not (sig is not None or weights_mode):
        raise BacktestError(f"{strategy.name}: signals() must return Signals or TargetWeights")
    if weights_mode:
        _check_weights_exits(config)
    need: tuple[str, ...] = {
        "limit": ("limit_price",),
        "stop": ("stop_price",),
        "stop_limit": ("limit_price", "stop_price"),
    }.get(config.order_type, ())
    for name in need:  # the order prices come from the strategy; never silently go market
        if sig is None or getattr(sig, name) is None:
            raise BacktestError(f"order_type={config.order_type}: the strategy gives no {name}")
    f = config_vector(config, ppy)
    f[C.F_WEIGHTS_MODE] = float(weights_mode)

    def b2(a: np.ndarray | None, name: str) -> np.ndarray:
        got = _as2d(a, shape, bool, name)
        return _FALSE11 if got is None else got

    def f2(a: np.ndarray | None, name: str, default: np.ndarray = _NAN11) -> np.ndarray:
        got = _as2d(a, shape, np.float64, name)
        return default if got is None else got

    if sig is not None:
        entries, exits = b2(sig.entries, "entries"), b2(sig.exits, "exits")
        s_ent, s_ex = b2(sig.short_entries, "short_entries"), b2(sig.short_exits, "short_exits")
        weights, rebal = _NAN11, np.zeros(shape[0], dtype=bool)
        limit, stop = f2(sig.limit_price, "limit_price"), f2(sig.stop_price, "stop_price")
        priority = f2(sig.priority, "priority", _ZERO11)
    else:
        assert isinstance(out, TargetWeights)
        entries = exits = s_ent = s_ex = _FALSE11
        weights = f2(out.weights, "weights")
        rebal = (
            np.asarray(out.rebalance, dtype=bool)
            if out.rebalance is not None
            else rebalance_mask(panel.index, config.rebalance, day, week)
        )
        limit = stop = _NAN11
        priority = f2(out.priority, "priority", _ZERO11)
    levels = build_levels(config, sig, atr, shape)
    vol = (
        _vol_array(panel, config.sizing.vol_lookback, ppy)
        if config.sizing.method == "vol_target"
        else _NAN11
    )
    sectors = np.arange(shape[1], dtype=np.int64)
    if config.risk.sectors:
        names = sorted(set(config.risk.sectors.values()))
        sectors = np.array(
            [names.index(config.risk.sectors[s]) if s in config.risk.sectors else len(names) + j
             for j, s in enumerate(panel.symbols)],
            dtype=np.int64,
        )  # fmt: skip
    fine = check_fine(fine, shape)
    eq, cash, gross, net, pos, trades, orders, events, cnt = simulate_nb(
        panel.open, panel.high, panel.low, panel.close, panel.volume,
        entries, exits, s_ent, s_ex, weights, rebal, levels, limit, stop, priority,
        atr if atr is not None else _NAN11, vol, sectors, day, week,
        fine.get("start", _NOFINE), fine.get("end", _NOFINE),
        fine.get("high", _EMPTY), fine.get("low", _EMPTY), f,
    )  # fmt: skip
    bench = sdata.cached(
        ("benchmark", config.cash, config.benchmark),
        lambda: benchmark_curve(panel, config.cash, config.benchmark),
    )
    traded = np.zeros(shape[0])
    if len(orders):
        np.add.at(
            traded,
            orders[:, C.OR_BAR].astype(np.int64),
            orders[:, C.OR_QTY] * np.nan_to_num(orders[:, C.OR_PRICE]),
        )
    metrics = summary_metrics(
        eq, ppy, config.risk_free, benchmark=bench,
        trades={"pnl": trades[:, C.TR_PNL], "return": trades[:, C.TR_RETURN],
                "bars_held": trades[:, C.TR_BARS_HELD]},
        exposure=gross, turnover=traded,
    )  # fmt: skip
    metrics["final_equity"] = float(eq[-1])
    metrics["num_trades"] = float(len(trades))
    metrics["ambiguous_bars"] = float(cnt[3])
    metrics["fees"] = float(np.nansum(orders[:, C.OR_FEE])) if len(orders) else 0.0
    resolved = config.model_dump(mode="json")
    resolved.update(timeframe=timeframe, calendar=calendar, periods_per_year=ppy)
    if config.fill == "close":
        resolved["warnings"] = ["fill=close: same-bar close fills are optimistic"]
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
        ambiguous_bars=int(cnt[3]),
        manifest_extra={
            "data_start": panel.index[0].isoformat(),
            "data_end": panel.index[-1].isoformat(),
            "bars": shape[0],
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
