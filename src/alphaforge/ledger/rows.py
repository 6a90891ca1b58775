"""What the ledger's reads return: frozen values with ``Decimal`` money and quantities."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "FillRow",
    "HaltInfo",
    "OrderRow",
    "PositionRow",
    "ReconcileRow",
    "RiskEventRow",
    "RunInfo",
    "TradeRow",
]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run of the runtime; ``strategies`` in the order the run listed them."""

    run_id: str
    mode: str
    venue: str
    config_hash: str
    config_text: str
    strategies: tuple[str, ...]
    started: str
    replay_from: str | None = None
    replay_to: str | None = None


@dataclass(frozen=True, slots=True)
class PositionRow:
    """An open position derived from the fills (FIFO lots).

    ``qty`` is signed; ``avg_price`` is the quantity-weighted price of the open lots;
    ``realized_pnl`` is the price P&L of the units closed so far (before fees); ``fees`` are all
    fees paid on the symbol's fills."""

    strategy: str
    symbol: str
    qty: Decimal
    avg_price: Decimal
    realized_pnl: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order request with its current state (from its events) and what has filled."""

    client_id: str
    run_id: str
    strategy: str
    symbol: str
    side: str
    qty: Decimal
    type: str
    intent: str
    tif: str
    limit: Decimal | None
    stop: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    bar: str
    reason: str
    created: str
    state: str
    updated: str  # time of the event that set the state
    venue_id: str
    state_reason: str  # the venue's rejection or cancellation reason
    filled_qty: Decimal
    avg_fill_price: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class FillRow:
    fill_id: str
    client_id: str
    run_id: str
    strategy: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    slippage: Decimal
    ts: str

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side == "buy" else -self.qty


@dataclass(frozen=True, slots=True)
class TradeRow:
    """A round trip matched FIFO: ``side`` is the side of the position it closed ('long' or
    'short'); prices are quantity-weighted; ``pnl`` is after the entry and exit fees of the
    closed units; ``exit_reason`` is the reason of the closing order."""

    strategy: str
    symbol: str
    side: str
    qty: Decimal
    entry_ts: str
    exit_ts: str
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    exit_reason: str
    exit_client_id: str


@dataclass(frozen=True, slots=True)
class RiskEventRow:
    run_id: str
    strategy: str
    bar: str
    rule: str
    value: float
    limit: float
    action: str


@dataclass(frozen=True, slots=True)
class ReconcileRow:
    run_id: str
    ts: str
    kind: str
    symbol: str
    client_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class HaltInfo:
    """The halt in force: who asked, when, why, and whether positions are to be closed;
    ``reducing``: only orders that reduce exposure may go out (``alphaforge kill --reduce-only``)
    instead of none."""

    reason: str
    flatten: bool
    by: str
    ts: str
    reducing: bool = False
