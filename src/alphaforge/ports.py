"""Protocols ("ports") that adapters implement. Pure: no I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd


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
