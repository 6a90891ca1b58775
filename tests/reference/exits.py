"""Protective exits: levels set at entry and their check against a bar's range."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tests.reference.account import Position
from tests.reference.model import Level, RefConfig

NAN = math.nan


@dataclass(frozen=True)
class LevelInputs:
    """What the signal bar says about the protective levels of the trade it opens."""

    stop_price: float = NAN  # strategy-supplied absolute levels win over the configured ones
    target_price: float = NAN
    atr: float = NAN  # ATR at the signal bar, for ``atr`` distances


def distance(level: Level | None, atr: float) -> tuple[float, float]:
    """(percent, absolute distance) of a configured level; NaN where it does not apply."""
    if level is None:
        return NAN, NAN
    if level.kind == "pct":
        return level.value, NAN
    if level.kind == "abs":
        return NAN, level.value
    return NAN, level.value * atr


def stop_distance(cfg: RefConfig, inputs: LevelInputs, price: float) -> float:
    """Distance from ``price`` to the stop the trade will get (for risk sizing)."""
    if not math.isnan(inputs.stop_price):
        return abs(price - inputs.stop_price)
    pct, dist = distance(cfg.exits.stop_loss, inputs.atr)
    return dist if not math.isnan(dist) else price * pct


def set_levels(cfg: RefConfig, pos: Position, inputs: LevelInputs, equity: float) -> None:
    """Levels of a new position from its (average) entry price."""
    ep, d = pos.entry_price, pos.direction
    pos.stop = _level(cfg.exits.stop_loss, inputs.stop_price, inputs.atr, ep, -d)
    pos.target = _level(cfg.exits.take_profit, inputs.target_price, inputs.atr, ep, d)
    pos.trail_pct, pos.trail_dist = distance(cfg.exits.trailing_stop, inputs.atr)
    if cfg.risk.max_trade_loss:
        pos.max_loss = ep - d * cfg.risk.max_trade_loss * equity / abs(pos.qty)


def _level(level: Level | None, given: float, atr: float, ep: float, sign: int) -> float:
    if not math.isnan(given):
        return given
    pct, dist = distance(level, atr)
    if not math.isnan(dist):
        return ep + sign * dist
    return ep * (1.0 + sign * pct)


def has_levels(pos: Position) -> bool:
    return not all(
        math.isnan(x) for x in (pos.stop, pos.target, pos.max_loss, pos.trail_pct, pos.trail_dist)
    )


def protective_stop(pos: Position) -> tuple[float, str]:
    """The tightest of stop-loss, max-loss and trailing stop, and the exit reason it stands for
    (the first named wins a tie). The trailing stop trails the extreme of the bars before."""
    long = pos.qty > 0
    trail = pos.trail_dist
    if math.isnan(trail) and not math.isnan(pos.trail_pct):
        trail = (pos.peak if long else pos.trough) * pos.trail_pct
    trailing = (pos.peak - trail if long else pos.trough + trail) if not math.isnan(trail) else NAN
    best, reason = NAN, "stop_loss"
    for level, why in (
        (pos.stop, "stop_loss"),
        (pos.max_loss, "risk_limit"),
        (trailing, "trailing_stop"),
    ):
        if math.isnan(level):
            continue
        if math.isnan(best) or (long and level > best) or (not long and level < best):
            best, reason = level, why
    return best, reason


def touched(
    pos: Position, o: float, h: float, lo: float, use_target: bool
) -> tuple[float, str, bool]:
    """Exit at the open when it gapped through a level, else (price, reason, both_inside) for the
    levels inside the range; NaN price when nothing is touched."""
    stop, why = protective_stop(pos)
    target = pos.target if use_target else NAN
    s = 1 if pos.qty > 0 else -1  # prices move against a long downwards
    if not math.isnan(stop) and s * (o - stop) <= 0:
        return o, why, False
    if not math.isnan(target) and s * (o - target) >= 0:
        return o, "take_profit", False
    hit_stop = not math.isnan(stop) and (lo <= stop if s > 0 else h >= stop)
    hit_target = not math.isnan(target) and (h >= target if s > 0 else lo <= target)
    if hit_stop and hit_target:
        return NAN, why, True
    if hit_stop:
        return stop, why, False
    if hit_target:
        return target, "take_profit", False
    return NAN, "", False


def first_in_finer_bars(
    pos: Position, bars: list[tuple[float, float]] | None, stop: float, target: float
) -> str:
    """Which of the two levels the finer (high, low) bars reach first: "stop" when unknown or
    when both fall inside one finer bar (conservative)."""
    long = pos.qty > 0
    for h, lo in bars or []:
        if (lo <= stop) if long else (h >= stop):
            return "stop"
        if (h >= target) if long else (lo <= target):
            return "target"
    return "stop"
