"""Protocols ("ports") that adapters implement. Pure: no I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import SecretStr

from alphaforge.core.orders import Fill, OrderRequest, OrderState, OrderType, OrderUpdate, Side


@dataclass(frozen=True)
class SeriesInfo:
    """What the store holds for one (symbol, timeframe)."""

    symbol: str
    timeframe: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp


@dataclass(frozen=True)
class WriteSummary:
    """Outcome of an upsert: rows new to the store and rows that replaced existing bars."""

    symbols: tuple[str, ...]
    inserted: int
    updated: int


@runtime_checkable
class BarStore(Protocol):
    """A market-data store of canonical bars (see :mod:`alphaforge.data.schema`).

    Writes are upserts by ``(symbol, timestamp)`` and atomic: a reader never sees half a write,
    and a failed write leaves the store exactly as it was.
    """

    def write(self, bars: pd.DataFrame, timeframe: str) -> WriteSummary: ...

    def write_many(self, parts: Iterable[tuple[str, Iterable[pd.DataFrame]]]) -> list[WriteSummary]:
        """Several writes ``(timeframe, chunks)`` committed together: all of them or none."""
        ...

    def read(
        self,
        symbols: Sequence[str] | None,
        timeframe: str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame: ...

    def list(self, timeframe: str | None = None) -> list[SeriesInfo]: ...

    def last_timestamp(self, symbol: str, timeframe: str) -> pd.Timestamp | None: ...

    def delete(self, symbol: str, timeframe: str) -> None: ...


@runtime_checkable
class MarketDataSource(Protocol):
    """A vendor of historical bars (Yahoo, Alpaca, Polygon, Alpha Vantage, ccxt)."""

    name: str

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical long bars for ``symbol`` in ``[start, end]``; empty frame when none."""
        ...


class SourceSettings(Protocol):
    """What a market-data source reads of the application settings: vendor keys (secrets,
    never logged), base URLs (stand-in servers in tests, proxies) and the home directory.
    ``alphaforge.config.settings.AppSettings`` provides it; sources never import config."""

    home: Path
    alpaca_api_key: SecretStr | None
    alpaca_secret_key: SecretStr | None
    polygon_api_key: SecretStr | None
    alphavantage_api_key: SecretStr | None
    ccxt_api_key: SecretStr | None
    ccxt_secret: SecretStr | None
    alpaca_data_url: str | None
    polygon_base_url: str
    alphavantage_base_url: str
    yahoo_base_url: str | None
    ccxt_exchange: str
    ccxt_base_url: str | None


# ---- trading venues --------------------------------------------------------------------------


@dataclass(frozen=True)
class BarSet:
    """The bars of one timestamp for several symbols (NaN where a symbol has no bar).

    ``ts`` is the bar's start (UTC) as in the store; the bar is complete when a feed emits it."""

    ts: pd.Timestamp
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@dataclass(frozen=True)
class VenueAccount:
    cash: float
    equity: float
    buying_power: float
    currency: str = "USD"


@dataclass(frozen=True)
class VenuePosition:
    symbol: str
    qty: float  # signed
    avg_price: float


@dataclass(frozen=True)
class VenueOrder:
    """A venue's view of one order (open orders, lookups by client id)."""

    client_id: str
    venue_id: str
    symbol: str
    side: Side
    qty: float
    type: OrderType
    state: OrderState
    filled_qty: float
    avg_price: float
    limit: float | None = None
    stop: float | None = None
    parent_id: str = ""  # the client id of a bracket's parent, for its stop / target legs


@dataclass(frozen=True)
class VenueCapabilities:
    brackets: bool  # protective stop / take-profit held at the venue with the entry
    fractional: bool
    shorting: bool
    replay: bool  # can follow a replayed feed (simulated venue, local stand-ins)
    # one order may take a position through zero (long to short); Alpaca refuses that, so a
    # reversal there is two orders
    through_zero: bool = True


@runtime_checkable
class ExecutionVenue(Protocol):
    """Where orders go: the simulated venue, Alpaca, later Interactive Brokers or a ccxt
    exchange. The engine talks to every venue through this port only.

    ``submit`` is idempotent by client order id: a venue that already knows the id returns
    that order's state and never opens a second order. Errors are the ``VenueError`` family of
    :mod:`alphaforge.core.errors`; each says whether a retry is safe."""

    name: str
    capabilities: VenueCapabilities

    def connect(self) -> None: ...

    def close(self) -> None: ...

    def submit(self, request: OrderRequest) -> OrderUpdate: ...

    def cancel(self, client_id: str) -> OrderUpdate | None: ...

    def order(self, client_id: str) -> VenueOrder | None: ...

    def open_orders(self) -> list[VenueOrder]: ...

    def positions(self) -> list[VenuePosition]: ...

    def account(self) -> VenueAccount: ...

    def fills(self, since: str | None = None) -> list[Fill]:
        """Executions at or after ``since`` (ISO time), oldest first."""
        ...

    def updates(self) -> list[OrderUpdate]:
        """Order updates received since the last call (the venue's stream), oldest first."""
        ...


@runtime_checkable
class ReplayVenue(Protocol):
    """A venue that follows a replayed feed: the runtime hands it each bar once the bar is
    complete, and it matches its resting orders against that bar."""

    def on_bar(self, bars: BarSet) -> None: ...


@runtime_checkable
class MarkingVenue(Protocol):
    """A replay venue in the runtime's own process that can be moved past bars on which the
    runtime knows it fills nothing (a replay's quiet bars): only its time and the symbols' last
    prices advance."""

    def mark(self, ts: str, last: dict[str, float]) -> None: ...

    def open_ids(self) -> set[str]:
        """The client ids of the working orders (:meth:`BrokerPort.open_orders` without
        building their views)."""
        ...


class MarketClock(Protocol):
    """Sessions of an exchange calendar (``alphaforge.data.clock.ExchangeClock`` implements it).

    Times are UTC; a session is ``[open, close)``. ``bar_closes`` gives the times in
    ``[start, end]`` at which bars of a timeframe complete (a daily bar at the session close).
    ``session_of`` is the session label (a naive date) with ``open <= ts <= close``, or None.
    """

    def is_open(self, ts: pd.Timestamp) -> bool: ...

    def next_close(self, ts: pd.Timestamp) -> pd.Timestamp: ...

    def next_open(self, ts: pd.Timestamp) -> pd.Timestamp: ...

    def session_of(self, ts: pd.Timestamp) -> pd.Timestamp | None: ...

    def bar_closes(
        self, start: pd.Timestamp, end: pd.Timestamp, timeframe: str
    ) -> pd.DatetimeIndex: ...


class CycleLog(Protocol):
    """What the runtime writes in one ledger transaction (one cycle)."""

    def signal(self, strategy: str, symbol: str, value: str) -> None: ...

    def decision(
        self, strategy: str, symbol: str, action: str, qty: float, reason: str, accepted: bool
    ) -> None: ...

    def order(self, request: OrderRequest) -> None: ...

    def order_event(self, update: OrderUpdate) -> None: ...

    def equity(
        self, strategy: str, cash: float, equity: float, gross: float, net: float
    ) -> None: ...

    def positions(self, strategy: str, rows: dict[str, tuple[float, float]]) -> None: ...

    def risk_event(
        self, strategy: str, rule: str, value: float, limit: float, action: str
    ) -> None: ...

    def reconcile_event(self, kind: str, symbol: str, client_id: str, detail: str) -> None: ...

    def set_state(self, strategy: str, key: str, value: Any) -> None: ...


class StateLog(Protocol):
    def set_state(self, strategy: str, key: str, value: Any) -> None: ...


class CycleBatchLog(Protocol):
    """The cycles of one ledger transaction, in bar order: a call opens the next cycle's log;
    ``marks`` adds cycles on which only the book was marked (``values``: cash, equity, gross
    and net, one float per bar)."""

    def __call__(self, bar: str) -> CycleLog: ...

    def marks(self, strategy: str, bars: list[str], values: dict[str, Any]) -> StateLog: ...


class TradeLedger(Protocol):
    """The runtime's durable record (``alphaforge.ledger.Ledger`` implements it)."""

    def cycle(self, run_id: str, bar: str) -> AbstractContextManager[CycleLog]: ...

    def cycles(self, run_id: str) -> AbstractContextManager[CycleBatchLog]: ...

    def halted(self) -> Any: ...

    def submitted_ids(self, run_id: str | None = None) -> set[str]: ...

    def last_bar(self, run_id: str) -> str | None: ...

    def end_run(self, run_id: str) -> None:
        """This process stops running ``run_id``: another one may run it now."""
        ...
