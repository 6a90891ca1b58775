"""The rule settings of a run as one :data:`~alphaforge.sim.records.SETTINGS` record.

:func:`settings_from_config` is the only place where a validated backtest configuration becomes
the numbers the compiled rules read. The vectorized engine passes the record to its kernel; any
other engine builds the same record from the same configuration and calls the same rule
functions (:mod:`alphaforge.sim.kernels_rules`), so both size, cost and risk-check alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alphaforge.core.rules import ATR_SLIP_CAP_HIGH, HIGH_COST
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.sim import codes as C
from alphaforge.sim.records import SETTINGS


def settings_from_config(
    cfg: Any,
    periods_per_year: float,
    *,
    weights_mode: bool = False,
    fast_paths: bool = True,
    timeframe: str | None = None,
) -> np.void:
    """The :data:`SETTINGS` record of a validated ``BacktestConfig``.

    ``periods_per_year`` scales the annual borrow fee and cash rate to one bar;
    ``weights_mode`` selects target-weight rebalancing; ``fast_paths=False`` makes the kernel
    run every phase of every bar (the reference behaviour the shortcuts must equal);
    ``timeframe`` (the run's, when the config leaves it to the data): on bars of a day or
    longer a daily loss limit blocks the next bar, as no bar is left in its day.
    """
    comm = cfg.costs.commission  # value objects, parsed when the config was built
    slip = cfg.costs.slippage
    r = cfg.risk
    values: dict[str, Any] = {
        "init_cash": cfg.cash,
        "fill_close": cfg.fill == "close",
        "allow_long": cfg.direction != "short",
        "allow_short": cfg.direction != "long",
        "weights_mode": weights_mode,
        "comm_pct": comm.pct,
        "comm_share": comm.per_share,
        "comm_min": comm.min_per_order,
        "comm_max_pct": comm.max_pct,
        "comm_fixed": comm.fixed,
        "slip_bps": slip.bps,
        "spread": slip.spread,
        "slip_atr": slip.atr,
        "slip_cap": ATR_SLIP_CAP_HIGH if cfg.costs.allow_high else HIGH_COST,
        "participation": cfg.costs.participation,
        "borrow": cfg.costs.borrow_fee,
        "margin": cfg.costs.margin,
        "cash_rate": cfg.costs.cash_rate,
        "ppy": periods_per_year,
        "sizing": C.SIZING_NAMES.index(cfg.sizing.method),
        "size_value": cfg.sizing.resolved_value(),
        "fractional": cfg.sizing.fractional,
        "kelly_lookback": cfg.sizing.kelly_lookback,
        "kelly_min": cfg.sizing.kelly_min_trades,
        "kelly_fallback": cfg.sizing.kelly_fallback,
        "stop_on_entry": cfg.exits.stop_on_entry_bar,
        "ambiguity": C.AMBIGUITY_NAMES.index(cfg.exits.ambiguity),
        "max_bars": cfg.exits.max_bars or 0,
        "max_positions": r.max_positions or 0,
        "max_weight": r.max_weight or 0.0,
        "sector_cap": r.max_sector_exposure or 0.0,
        "min_cash": r.min_cash,
        "max_gross": r.max_gross_leverage or 0.0,
        "max_net": r.max_net_leverage or 0.0,
        "trade_max_loss": r.max_trade_loss or 0.0,
        "daily_loss": r.daily_loss_limit or 0.0,
        "daily_bars": _daily_bars(timeframe or cfg.timeframe),
        "weekly_loss": r.weekly_loss_limit or 0.0,
        "max_dd": r.max_drawdown or 0.0,
        "dd_flatten": r.drawdown_action in ("flatten", "flatten_and_halt"),
        "dd_halt": r.drawdown_action in ("halt", "flatten_and_halt"),
        "drift_band": cfg.drift_band,
        "tif_gtc": cfg.time_in_force == "gtc",
        "record": cfg.record_positions,
        "equity_only": False,
        "fast_paths": fast_paths,
    }
    # one conversion of the whole row (setting 45 fields of a record one by one is slow)
    row = np.array([tuple(values[name] for name in SETTINGS.names or ())], dtype=SETTINGS)
    record: np.void = row[0]
    return record


def _daily_bars(timeframe: str | None) -> bool:
    """Whether bars of ``timeframe`` are a day or longer (unknown: no)."""
    return timeframe is not None and not parse_timeframe(timeframe).is_intraday
