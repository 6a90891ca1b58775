"""Aligned multi-symbol panels (time x symbol), the input of the backtest engine.

A :class:`Panel` is a value: OHLCV arrays on one time index, with accessors that select symbols
or a time range and convert to and from long bars. Nothing here reads or writes files or the
store; loading a panel is the job of :mod:`alphaforge.services.store` and the data layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import DataError, UnknownSymbolError

FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Panel:
    """OHLCV aligned on one time index; NaN where a symbol has no bar.

    ``index`` is a tz-aware UTC :class:`pandas.DatetimeIndex`; every field is a float64 array of
    shape ``(len(index), len(symbols))``.
    """

    index: pd.DatetimeIndex
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    timeframe: str = "1d"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (len(self.index), len(self.symbols))
        for name in FIELDS:
            arr = getattr(self, name)
            if arr.shape != shape:
                raise DataError(f"panel field {name!r} has shape {arr.shape}, expected {shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.index), len(self.symbols))

    def frame(self, name: str) -> pd.DataFrame:
        """One field as a (time x symbol) DataFrame."""
        return pd.DataFrame(getattr(self, name), index=self.index, columns=list(self.symbols))

    def symbol_frame(self, symbol: str) -> pd.DataFrame:
        """Per-symbol OHLCV frame, rows where the symbol has no bar dropped."""
        j = self.column(symbol)
        df = pd.DataFrame({f: getattr(self, f)[:, j] for f in FIELDS}, index=self.index)
        return df.dropna(subset=["close"])

    def column(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise UnknownSymbolError(
                f"unknown symbol {symbol!r}; the data has {', '.join(self.symbols[:10])}"
                + (" ..." if len(self.symbols) > 10 else "")
            ) from None

    def select(self, symbols: Sequence[str]) -> Panel:
        idx = [self.column(s) for s in symbols]
        sub = {f: np.ascontiguousarray(getattr(self, f)[:, idx]) for f in FIELDS}
        keep = ~np.all(np.isnan(sub["close"]), axis=1)
        return Panel(
            index=self.index[keep],
            symbols=tuple(symbols),
            timeframe=self.timeframe,
            meta=dict(self.meta),
            **{f: np.ascontiguousarray(a[keep]) for f, a in sub.items()},
        )

    def slice(self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> Panel:
        mask = np.ones(len(self.index), dtype=bool)
        if start is not None:
            mask &= self.index >= start
        if end is not None:
            mask &= self.index <= end
        return Panel(
            index=self.index[mask],
            symbols=self.symbols,
            timeframe=self.timeframe,
            meta=dict(self.meta),
            **{f: np.ascontiguousarray(getattr(self, f)[mask]) for f in FIELDS},
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.symbols)

    @classmethod
    def from_long(cls, bars: pd.DataFrame, timeframe: str = "1d") -> Panel:
        """Pivot long bars (``symbol, timestamp, open, high, low, close, volume``) to a panel.

        Duplicated ``(symbol, timestamp)`` keys are an error (the store never holds them).
        """
        missing = [c for c in ("symbol", "timestamp", *FIELDS) if c not in bars.columns]
        if missing:
            raise DataError(f"bars are missing column(s) {', '.join(missing)}")
        if bars.empty:
            raise DataError("no bars to build a panel from")
        dup = bars.duplicated(["symbol", "timestamp"])
        if dup.any():
            row = bars[dup].iloc[0]
            raise DataError(f"duplicate bar for symbol {row['symbol']!r} at {row['timestamp']}")
        ts = pd.to_datetime(bars["timestamp"])
        ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
        df = bars.assign(timestamp=ts)
        symbols = tuple(sorted(df["symbol"].astype(str).unique()))
        index = pd.DatetimeIndex(np.sort(df["timestamp"].unique()), name="timestamp")
        if index.tz is None:
            index = index.tz_localize("UTC")
        arrays = {}
        for f in FIELDS:
            wide = df.pivot(index="timestamp", columns="symbol", values=f)
            wide = wide.reindex(index=index, columns=list(symbols))
            arrays[f] = np.ascontiguousarray(wide.to_numpy(dtype=np.float64))
        return cls(
            index=index,
            symbols=symbols,
            open=arrays["open"],
            high=arrays["high"],
            low=arrays["low"],
            close=arrays["close"],
            volume=arrays["volume"],
            timeframe=timeframe,
        )

    def to_long(self) -> pd.DataFrame:
        parts = []
        for j, s in enumerate(self.symbols):
            df = pd.DataFrame({f: getattr(self, f)[:, j] for f in FIELDS})
            df.insert(0, "timestamp", self.index)
            df.insert(0, "symbol", s)
            parts.append(df.dropna(subset=["close"]))
        return pd.concat(parts, ignore_index=True)
