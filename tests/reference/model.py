"""Inputs of the reference simulator: settings, market data and the strategy's output.

Settings are plain values (fractions, not SPEC strings): the tests write the engine's config
strings from the same values, so the reference never shares the engine's parsers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Grid = list[list[float]]  # [bar][symbol]
Flags = list[list[bool]]


@dataclass(frozen=True)
class Level:
    """A protective-exit distance: ``pct`` of the entry price, ``abs`` price units, or ``atr``
    multiples (of the ATR at the signal bar)."""

    kind: Literal["pct", "abs", "atr"]
    value: float


@dataclass(frozen=True)
class Costs:
    comm_pct: float = 0.0  # fraction of the order value
    per_share: float = 0.0
    comm_min: float = 0.0  # minimum of the per-share part
    comm_max_pct: float = 0.0  # cap of the per-share part, fraction of value (0 = none)
    comm_fixed: float = 0.0  # per order (per fill)
    slip_bps: float = 0.0  # fraction of price
    spread: float = 0.0  # full spread, fraction of price; half is paid per fill
    slip_atr: float = 0.0  # multiple of the ATR per share
    participation: float = 0.0  # max fraction of bar volume per fill (0 = no cap)
    borrow_fee: float = 0.0  # annual, on the value of shorts
    margin: float = 1.0  # margin requirement on shorts
    cash_rate: float = 0.0  # annual, on cash


@dataclass(frozen=True)
class ExitRules:
    stop_loss: Level | None = None
    take_profit: Level | None = None
    trailing_stop: Level | None = None
    max_bars: int | None = None
    stop_on_entry_bar: bool = True
    ambiguity: Literal["stop_first", "target_first", "finer_bars"] = "stop_first"


@dataclass(frozen=True)
class Sizing:
    method: Literal["all_in", "fraction", "cash", "shares", "risk", "vol_target", "kelly"]
    value: float = 1.0
    fractional: bool = False
    vol_lookback: int = 20
    kelly_lookback: int = 50
    kelly_min_trades: int = 20
    kelly_fallback: float = 0.1


@dataclass(frozen=True)
class RiskRules:
    max_positions: int | None = None
    max_weight: float | None = None
    max_sector_exposure: float | None = None
    sectors: tuple[str, ...] | None = None  # sector of each symbol (by column)
    min_cash: float = 0.0
    max_gross_leverage: float | None = None
    max_net_leverage: float | None = None
    max_trade_loss: float | None = None
    daily_loss_limit: float | None = None
    weekly_loss_limit: float | None = None
    max_drawdown: float | None = None
    drawdown_action: Literal["flatten", "halt", "flatten_and_halt"] = "flatten_and_halt"


@dataclass(frozen=True)
class RefConfig:
    cash: float = 100_000.0
    fill: Literal["next_open", "close"] = "next_open"
    direction: Literal["long", "short", "long_short"] = "long"
    time_in_force: Literal["day", "gtc"] = "day"
    costs: Costs = field(default_factory=Costs)
    exits: ExitRules = field(default_factory=ExitRules)
    sizing: Sizing = field(default_factory=lambda: Sizing("all_in"))
    risk: RiskRules = field(default_factory=RiskRules)
    drift_band: float = 0.0
    periods_per_year: float = 252.0  # daily bars of an equity calendar


@dataclass
class Market:
    """Bars of every symbol; NaN prices where a symbol has no bar. ``day``/``week`` number the
    trading day and week of each bar; ``atr`` is the indicator the ATR-based settings use."""

    open: Grid
    high: Grid
    low: Grid
    close: Grid
    volume: Grid
    day: list[int]
    week: list[int]
    atr: Grid | None = None
    fine: dict[tuple[int, int], list[tuple[float, float]]] | None = None  # (bar, sym) -> [(h, l)]

    @property
    def n_bars(self) -> int:
        return len(self.close)

    @property
    def n_symbols(self) -> int:
        return len(self.close[0])


@dataclass
class SignalInput:
    entries: Flags
    exits: Flags
    short_entries: Flags | None = None
    short_exits: Flags | None = None
    limit_price: Grid | None = None
    stop_price: Grid | None = None
    stop_loss: Grid | None = None  # absolute price levels of the trade entered next
    take_profit: Grid | None = None
    priority: Grid | None = None


@dataclass
class WeightInput:
    weights: Grid  # NaN leaves a symbol as it is
    rebalance: list[bool]  # bars whose close decides a rebalance (traded at the next open)
    priority: Grid | None = None
