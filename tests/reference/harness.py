"""Run the engine and the reference on the same bars, signals and settings; compare them.

The engine's config is written from the reference's plain settings (SPEC strings built from
the same numbers), so the two never share a parser.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.config.backtest import BacktestConfig
from alphaforge.sim.vectorized import run_backtest
from tests.reference.model import Level, RefConfig

RTOL = 1e-9
ATOL = 1e-4  # money near zero: 1e-9 of the default 100,000 account

#: whether ``run_backtest`` has the explicit switch that turns its fast paths off
HAS_FAST_PATHS_SWITCH = "fast_paths" in inspect.signature(run_backtest).parameters
FAST_PATH_MODES: list[bool | None] = [True, False] if HAS_FAST_PATHS_SWITCH else [None]


@dataclass
class Bars:
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    index: pd.DatetimeIndex

    @property
    def shape(self) -> tuple[int, int]:
        n, m = self.close.shape
        return n, m


def random_bars(seed: int, n: int, m: int, nan_share: float = 0.0) -> Bars:
    """Log-normal closes, opens gapping from the previous close, wicks; some bars missing."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, m)), axis=0))
    prev = np.vstack([np.full((1, m), 100.0), close[:-1]])
    open_ = prev * np.exp(rng.normal(0, 0.012, (n, m)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, (n, m)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, (n, m)))
    volume = rng.uniform(200, 5_000, (n, m)).round()
    if nan_share > 0:
        holes = rng.random((n, m)) < nan_share
        for a in (open_, high, low, close):
            a[holes] = np.nan
    index = pd.date_range("2024-01-01", periods=n, freq="B", tz="UTC", name="timestamp")
    return Bars(open_, high, low, close, volume, index)


# ---- settings -> engine config ----------------------------------------------------------------
def _num(x: float) -> str:
    return repr(float(x))


def _level_spec(lv: Level | None) -> str | None:
    if lv is None:
        return None
    if lv.kind == "pct":
        spec = f"{round(lv.value * 100, 10)!r}%"
        assert float(spec[:-1]) / 100.0 == lv.value, f"{lv.value} has no exact % form"
        return spec
    return _num(lv.value) + ("atr" if lv.kind == "atr" else "")


def engine_config(
    cfg: RefConfig,
    symbols: tuple[str, ...],
    order_type: str,
    schedule: str,
    atr_period: int,
    schedule_given: bool = False,
) -> BacktestConfig:
    c, x, s, r = cfg.costs, cfg.exits, cfg.sizing, cfg.risk
    comm = []
    if c.comm_pct:
        comm.append(_num(c.comm_pct))
    if c.per_share:
        opts = (f",min={_num(c.comm_min)}" if c.comm_min else "") + (
            f",max={_num(c.comm_max_pct)}" if c.comm_max_pct else ""
        )
        comm.append(f"{_num(c.per_share)}/share{opts}")
    if c.comm_fixed:
        comm.append(f"{_num(c.comm_fixed)}/order")
    slip = [_num(c.slip_bps)] if c.slip_bps else []
    slip += [f"spread={_num(c.spread)}"] if c.spread else []
    slip += [f"{_num(c.slip_atr)}atr"] if c.slip_atr else []
    sectors = None
    if r.sectors is not None:
        sectors = {sym: sec for sym, sec in zip(symbols, r.sectors, strict=True) if sec != sym}
    data: dict[str, Any] = {
        "cash": cfg.cash, "fill": cfg.fill, "direction": cfg.direction,
        "order_type": order_type, "time_in_force": cfg.time_in_force,
        "costs": {
            "commission": "+".join(comm) or "0", "slippage": "+".join(slip) or "0",
            "participation": c.participation, "borrow_fee": c.borrow_fee, "margin": c.margin,
            "cash_rate": c.cash_rate,
        },
        "exits": {
            "stop_loss": _level_spec(x.stop_loss), "take_profit": _level_spec(x.take_profit),
            "trailing_stop": _level_spec(x.trailing_stop), "max_bars": x.max_bars,
            "stop_on_entry_bar": x.stop_on_entry_bar, "ambiguity": x.ambiguity,
            "atr_period": atr_period,
        },
        "sizing": {
            "method": s.method, "value": None if s.method == "all_in" else s.value,
            "fractional": s.fractional,
            "vol_lookback": s.vol_lookback, "kelly_lookback": s.kelly_lookback,
            "kelly_min_trades": s.kelly_min_trades, "kelly_fallback": s.kelly_fallback,
        },
        "risk": {
            "max_positions": r.max_positions, "max_weight": r.max_weight,
            "max_sector_exposure": r.max_sector_exposure, "sectors": sectors,
            "min_cash": r.min_cash, "max_gross_leverage": r.max_gross_leverage,
            "max_net_leverage": r.max_net_leverage, "max_trade_loss": r.max_trade_loss,
            "daily_loss_limit": r.daily_loss_limit, "weekly_loss_limit": r.weekly_loss_limit,
            "max_drawdown": r.max_drawdown, "drawdown_action": r.drawdown_action,
        },
        "rebalance": schedule, "drift_band": cfg.drift_band,
        "timeframe": "1d", "calendar": "XNYS", "record_positions": True,
    }  # fmt: skip
    levels = (x.stop_loss, x.take_profit, x.trailing_stop)
    # a setting that only refines a rule not in use would be refused: leave it out
    if not c.slip_atr and not any(lv is not None and lv.kind == "atr" for lv in levels):
        del data["exits"]["atr_period"]
    if s.method != "vol_target":
        del data["sizing"]["vol_lookback"]
    if s.method != "kelly":
        for key in ("kelly_lookback", "kelly_min_trades", "kelly_fallback"):
            del data["sizing"][key]
    if r.max_sector_exposure is None:
        del data["risk"]["sectors"]
    if r.max_drawdown is None:
        del data["risk"]["drawdown_action"]
    if schedule_given:
        del data["rebalance"]  # the strategy gives its own rebalance bars
    return BacktestConfig.build(data, "reference test")
