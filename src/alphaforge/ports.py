"""Protocols ("ports") that adapters implement. Pure: no I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd
from pydantic import SecretStr


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
