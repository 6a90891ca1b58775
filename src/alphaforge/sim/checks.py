"""Settings a run would ignore are refused before it starts.

Some settings govern one kind of strategy only. Sizing, limit and stop entries, time in force
and the intrabar exit rules act on the orders of a :class:`~alphaforge.strategy.base.Signals`
strategy; the rebalance schedule and the drift band act on
:class:`~alphaforge.strategy.base.TargetWeights`. Some act only on what the strategy's orders
carry: a time in force on limit / stop entries, the entry-bar and ambiguity rules on stops and
targets. A setting changed from its default where it has
nothing to act on is a one-line error naming the key and the value, never a run that quietly
does without it. (``sizing.fractional`` acts in both modes: target-weight orders are rounded to
whole shares unless it is set.)
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from alphaforge.core.errors import IdleSettingError
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.inputs import needs_atr, order_type_of
from alphaforge.strategy.base import Signals

__all__ = ["refuse_idle_orders", "refuse_idle_settings"]

_NOT_WEIGHTS = "apply to Signals strategies, not TargetWeights"
_NOT_SIGNALS = "apply to TargetWeights strategies, not Signals"
_SIZING_RULES = (
    "method",
    "value",
    "vol_lookback",
    "kelly_lookback",
    "kelly_min_trades",
    "kelly_fallback",
)


@cache
def _default(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].get_default(call_default_factory=True)


def _changed(model: BaseModel, name: str) -> bool:
    """Whether field ``name`` of ``model`` differs from its default."""
    return bool(getattr(model, name) != _default(type(model), name))


def _refuse(key: str, why: str, *values: Any) -> IdleSettingError:
    return IdleSettingError(f"{key}: {why} (got {', '.join(map(repr, values))})")


def _weights_mode_idle(config: BacktestConfig) -> IdleSettingError | None:
    """The first setting a target-weight run would ignore, as its error."""
    sizing, exits = config.sizing, config.exits
    for key, value in (
        ("exits.stop_loss", exits.stop_loss),
        ("exits.take_profit", exits.take_profit),
        ("exits.trailing_stop", exits.trailing_stop),
        ("risk.max_trade_loss", config.risk.max_trade_loss),
    ):
        if value is not None:  # protective exits belong to positions opened by entry signals
            return _refuse(key, f"protective exits {_NOT_WEIGHTS}", str(value))
    names = [name for name in _SIZING_RULES if _changed(sizing, name)]
    if names:  # every one named: a method and its value are one choice
        return _refuse(
            ", ".join(f"sizing.{name}" for name in names),
            f"sizing rules {_NOT_WEIGHTS} (the weights size every position)",
            *(getattr(sizing, name) for name in names),
        )
    if config.order_type not in ("auto", "market"):
        return _refuse(
            "order_type",
            f"limit and stop entries {_NOT_WEIGHTS} (rebalances are market orders)",
            config.order_type,
        )
    if _changed(config, "time_in_force"):
        return _refuse(
            "time_in_force",
            f"time in force of limit and stop entries {_NOT_WEIGHTS} (rebalances are market "
            "orders)",
            config.time_in_force,
        )
    for name in ("stop_on_entry_bar", "ambiguity"):
        if _changed(exits, name):
            return _refuse(
                f"exits.{name}", f"protective exits {_NOT_WEIGHTS}", getattr(exits, name)
            )
    return None


def _signals_mode_idle(config: BacktestConfig, has_fine: bool) -> IdleSettingError | None:
    """The first setting a signals run would ignore, as its error."""
    if _changed(config, "rebalance"):
        return _refuse("rebalance", f"rebalance schedules {_NOT_SIGNALS}", config.rebalance)
    if _changed(config, "drift_band"):
        return _refuse("drift_band", f"drift bands {_NOT_SIGNALS}", config.drift_band)
    if config.exits.ambiguity == "finer_bars" and not has_fine:
        return _refuse(
            "exits.ambiguity",
            "finer_bars needs finer bars and none were given: pass them as the fine argument "
            "of run_backtest (alphaforge.sim.fine.fine_arrays), or name a file as fine_data "
            "(or keep fine_timeframe bars in the store) in a run config",
            config.exits.ambiguity,
        )
    return None


def _orders_idle(config: BacktestConfig, sig: Signals) -> IdleSettingError | None:
    """The first entry or exit rule the orders of ``sig`` give nothing to act on, as its error:
    a time in force without limit / stop entries (the order type resolves to market), the
    entry-bar rule without a stop or a target, the ambiguity rule without both. A level counts
    when the config sets it or the strategy returns one (an array, even if NaN on some bars)."""
    ex, risk = config.exits, config.risk
    if _changed(config, "time_in_force") and order_type_of(config, sig) == "market":
        return _refuse(
            "time_in_force",
            "keeps limit / stop entries working, and the strategy gives no limit or stop price "
            "(its entries are market orders)",
            config.time_in_force,
        )
    stop = any(v is not None for v in (ex.stop_loss, ex.trailing_stop, risk.max_trade_loss))
    stop = stop or sig.stop_loss is not None
    target = ex.take_profit is not None or sig.take_profit is not None
    if _changed(ex, "stop_on_entry_bar") and not (stop or target):
        return _refuse(
            "exits.stop_on_entry_bar",
            "acts on a stop or a target, and none is set (exits, risk.max_trade_loss) nor given "
            "by the strategy",
            ex.stop_on_entry_bar,
        )
    if _changed(ex, "ambiguity") and not (stop and target):
        missing = "target" if stop else ("stop" if target else "stop or target")
        return _refuse(
            "exits.ambiguity",
            f"decides a bar that touches both a stop and a target, and the run has no {missing} "
            "(exits, risk.max_trade_loss, or the strategy's own levels)",
            ex.ambiguity,
        )
    return None


def _dependent_idle(config: BacktestConfig, own_schedule: bool) -> IdleSettingError | None:
    """The first setting that only refines another one which is not in use, as its error."""
    sizing, risk = config.sizing, config.risk
    if sizing.method != "vol_target" and _changed(sizing, "vol_lookback"):
        return _refuse(
            "sizing.vol_lookback", "acts only with sizing.method vol_target", sizing.vol_lookback
        )
    for name in ("kelly_lookback", "kelly_min_trades", "kelly_fallback"):
        if sizing.method != "kelly" and _changed(sizing, name):
            return _refuse(
                f"sizing.{name}", "acts only with sizing.method kelly", getattr(sizing, name)
            )
    if _changed(config.exits, "atr_period") and not needs_atr(config):
        return _refuse(
            "exits.atr_period",
            "nothing uses the ATR (no ATR exit distance, no ATR slippage)",
            config.exits.atr_period,
        )
    if _changed(risk, "drawdown_action") and risk.max_drawdown is None:
        return _refuse(
            "risk.drawdown_action", "acts only with risk.max_drawdown", risk.drawdown_action
        )
    if own_schedule and _changed(config, "rebalance"):
        return _refuse(
            "rebalance",
            "the strategy gives its own rebalance bars, so the schedule is not used",
            config.rebalance,
        )
    return None


def refuse_idle_settings(
    config: BacktestConfig,
    *,
    weights_mode: bool,
    has_fine: bool,
    own_schedule: bool = False,
    signals: Signals | None = None,
) -> None:
    """Raise :class:`IdleSettingError` naming the first setting of ``config`` changed from its
    default that the run would ignore: in target-weights mode (``weights_mode``) the sizing
    rules, order types other than market, time in force and the intrabar exit rules, and the
    rebalance schedule when the strategy gives its own rebalance bars (``own_schedule``); in
    signals mode the rebalance schedule, the drift band, and ``exits.ambiguity: finer_bars``
    without finer bars (``has_fine``); in both, a refinement of a rule not in use (a Kelly or
    volatility lookback of another sizing method, an ATR period nothing uses, a drawdown action
    without a drawdown limit). A sector map acts without a sector cap: the tear sheet groups
    exposure by it. Given the strategy's ``signals``, also an entry or exit rule its orders
    give nothing to act on (see :func:`_orders_idle`)."""
    err = _weights_mode_idle(config) if weights_mode else _signals_mode_idle(config, has_fine)
    if err is None and signals is not None and not weights_mode:
        err = _orders_idle(config, signals)
    if err is None:
        err = _dependent_idle(config, own_schedule)
    if err is not None:
        raise err


def refuse_idle_orders(config: BacktestConfig, signals: Signals) -> None:
    """Raise :class:`IdleSettingError` naming the first entry or exit rule the orders of
    ``signals`` give nothing to act on (see :func:`_orders_idle`); for a run whose settings were
    checked before its strategy ran (the batched kernel)."""
    err = _orders_idle(config, signals)
    if err is not None:
        raise err
