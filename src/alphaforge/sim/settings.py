"""The rule settings of a run as one :data:`~alphaforge.sim.records.SETTINGS` record.

:func:`settings_from_config` is the only place where a validated backtest configuration becomes
the numbers the compiled rules read. The vectorized engine passes the record to its kernel; any
other engine builds the same record from the same configuration and calls the same rule
functions (:mod:`alphaforge.sim.kernels_rules`), so both size, cost and risk-check alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alphaforge.sim import codes as C
from alphaforge.sim.records import settings_record


def settings_from_config(
    cfg: Any,
    periods_per_year: float,
    *,
    weights_mode: bool = False,
    fast_paths: bool = True,
) -> np.void:
    """The :data:`SETTINGS` record of a validated ``BacktestConfig``.

    ``periods_per_year`` scales the annual borrow fee and cash rate to one bar;
    ``weights_mode`` selects target-weight rebalancing; ``fast_paths=False`` makes the kernel
    run every phase of every bar (the reference behaviour the shortcuts must equal).
    """
    s = settings_record()
    comm = cfg.costs.commission  # value objects, parsed when the config was built
    slip = cfg.costs.slippage
    r = cfg.risk
    s["init_cash"] = cfg.cash
    s["fill_close"] = cfg.fill == "close"
    s["allow_long"] = cfg.direction != "short"
    s["allow_short"] = cfg.direction != "long"
    s["weights_mode"] = weights_mode
    s["comm_pct"] = comm.pct
    s["comm_share"] = comm.per_share
    s["comm_min"] = comm.min_per_order
    s["comm_max_pct"] = comm.max_pct
    s["comm_fixed"] = comm.fixed
    s["slip_bps"] = slip.bps
    s["spread"] = slip.spread
    s["slip_atr"] = slip.atr
    s["participation"] = cfg.costs.participation
    s["borrow"] = cfg.costs.borrow_fee
    s["margin"] = cfg.costs.margin
    s["cash_rate"] = cfg.costs.cash_rate
    s["ppy"] = periods_per_year
    s["sizing"] = C.SIZING_NAMES.index(cfg.sizing.method)
    s["size_value"] = cfg.sizing.resolved_value()
    s["fractional"] = cfg.sizing.fractional
    s["kelly_lookback"] = cfg.sizing.kelly_lookback
    s["kelly_min"] = cfg.sizing.kelly_min_trades
    s["kelly_fallback"] = cfg.sizing.kelly_fallback
    s["stop_on_entry"] = cfg.exits.stop_on_entry_bar
    s["ambiguity"] = C.AMBIGUITY_NAMES.index(cfg.exits.ambiguity)
    s["max_bars"] = cfg.exits.max_bars or 0
    s["max_positions"] = r.max_positions or 0
    s["max_weight"] = r.max_weight or 0.0
    s["sector_cap"] = r.max_sector_exposure or 0.0
    s["min_cash"] = r.min_cash
    s["max_gross"] = r.max_gross_leverage or 0.0
    s["max_net"] = r.max_net_leverage or 0.0
    s["trade_max_loss"] = r.max_trade_loss or 0.0
    s["daily_loss"] = r.daily_loss_limit or 0.0
    s["weekly_loss"] = r.weekly_loss_limit or 0.0
    s["max_dd"] = r.max_drawdown or 0.0
    s["dd_flatten"] = r.drawdown_action in ("flatten", "flatten_and_halt")
    s["dd_halt"] = r.drawdown_action in ("halt", "flatten_and_halt")
    s["drift_band"] = cfg.drift_band
    s["tif_gtc"] = cfg.time_in_force == "gtc"
    s["record"] = cfg.record_positions
    s["equity_only"] = False
    s["fast_paths"] = fast_paths
    return s
