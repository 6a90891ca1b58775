"""What the reference simulator reports: orders, trades, risk events and the per-bar series."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Order:
    """One order decision: a fill (maybe partial), a rejection or an expiry."""

    bar: int
    symbol: int
    side: int  # +1 buy, -1 sell
    quantity: float  # filled
    price: float  # NaN when nothing filled
    fee: float
    status: str  # filled | partial | rejected | expired
    reason: str  # entry, an exit reason, or why it was rejected
    requested: float


@dataclass(frozen=True)
class Trade:
    """A closed (part of a) position, average-cost basis."""

    symbol: int
    direction: int
    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float
    quantity: float
    fees: float
    slippage: float
    pnl: float
    ret: float
    mae: float
    mfe: float
    bars_held: int
    exit_reason: str
    ambiguous: bool


@dataclass(frozen=True)
class Event:
    """A risk rule firing."""

    bar: int
    rule: str
    symbol: int  # -1 for account-wide rules
    value: float


@dataclass
class RefResult:
    equity: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    positions: list[list[float]] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ambiguous_bars: int = 0
