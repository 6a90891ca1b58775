"""Aligned multi-symbol panels (time x symbol), the input of the backtest engine.

A :class:`Panel` is a value: OHLCV arrays on one time index, with accessors that select symbols
or a time range and convert to and from long bars. Nothing here reads or writes files or the
store; loading a panel is the job of :mod:`alphaforge.services.store` and the data layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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
        """Align long bars (``symbol, timestamp, open, high, low, close, volume``) to a panel.

        Symbols are sorted; the index is every timestamp of any symbol, sorted, in UTC (naive
        timestamps are taken as UTC). Rows may come in any order. One symbol's rows already in
        time order become the panel's columns without a copy where their dtype allows.
        Duplicated ``(symbol, timestamp)`` keys are an error (the store never holds them).
        """
        missing = [c for c in ("symbol", "timestamp", *FIELDS) if c not in bars.columns]
        if missing:
            raise DataError(f"bars are missing column(s) {', '.join(missing)}")
        if bars.empty:
            raise DataError("no bars to build a panel from")
        codes, symbols = _symbol_codes(bars["symbol"])
        ts = utc_index(bars["timestamp"])

        def duplicate(i: int) -> DataError:
            row = bars.iloc[i]
            return DataError(f"duplicate bar for symbol {row['symbol']!r} at {row['timestamp']}")

        return cls._from_rows(
            ts, codes, symbols, {f: bars[f] for f in FIELDS}, timeframe, duplicate
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        symbol: str = "ASSET",
        timeframe: str = "1d",
        columns: Mapping[str, Any] | None = None,
    ) -> Panel:
        """One symbol's bars: a frame with a ``DatetimeIndex`` and columns ``open, high, low,
        close`` (``volume`` optional, NaN when absent; names already lower case).

        A time-ordered index without repeats keeps the frame's float64 columns as the panel's
        arrays, shaped ``(bars, 1)``, without copying them; the panel then shares memory with the
        frame (nothing in alphaforge writes to a panel's arrays). ``columns`` maps field names
        to the frame's column labels when they differ (default: the labels are the fields).
        """
        labels = dict(columns) if columns is not None else {c: c for c in frame.columns}
        missing = [c for c in ("open", "high", "low", "close") if c not in labels]
        if missing:
            raise DataError(f"bars are missing column(s) {', '.join(missing)}")
        if frame.empty:
            raise DataError("no bars to build a panel from")
        ts = utc_index(frame.index)
        n = len(frame)
        cols = {f: frame[labels[f]] if f in labels else np.full(n, np.nan) for f in FIELDS}
        codes = np.broadcast_to(np.intp(0), (n,))  # one symbol: code 0 (no array)

        def duplicate(i: int) -> DataError:
            return DataError(f"duplicate bar for symbol {symbol!r} at {frame.index[i]}")

        return cls._from_rows(ts, codes, (symbol,), cols, timeframe, duplicate)

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], timeframe: str = "1d") -> Panel:
        """One OHLC(V) frame per symbol (``{symbol: frame}``, each as :meth:`from_frame` takes
        it), aligned on the union of their timestamps."""
        if not frames:
            raise DataError("no bars to build a panel from")
        names = [str(s) for s in frames]
        order = sorted(range(len(names)), key=names.__getitem__)
        parts = [frames[k] for k in frames]
        for name, df in zip(names, parts, strict=True):
            missing = [c for c in ("open", "high", "low", "close") if c not in df.columns]
            if missing:
                raise DataError(f"bars of {name!r} are missing column(s) {', '.join(missing)}")
            if not isinstance(df.index, pd.DatetimeIndex):
                raise DataError(f"bars of {name!r} need a DatetimeIndex")
        if len(set(names)) != len(names):
            raise DataError("symbols repeat after conversion to text")
        rank = np.empty(len(names), dtype=np.intp)
        rank[order] = np.arange(len(names))
        stamps = [utc_index(df.index) for df in parts]
        units = {s.unit for s in stamps}
        unit = "ns" if len(units) > 1 else units.pop()
        ts = pd.DatetimeIndex(
            np.concatenate([s.as_unit(unit).asi8 for s in stamps]).view(f"M8[{unit}]")
        ).tz_localize("UTC")
        codes = np.repeat(rank, [len(df) for df in parts])
        cols: dict[str, Any] = {}
        for f in FIELDS:
            cols[f] = np.concatenate(
                [
                    df[f].to_numpy(dtype=np.float64)
                    if f in df.columns
                    else np.full(len(df), np.nan)
                    for df in parts
                ]
            )
        starts = np.cumsum([0, *[len(df) for df in parts]])

        def duplicate(i: int) -> DataError:
            k = int(np.searchsorted(starts, i, side="right")) - 1
            return DataError(
                f"duplicate bar for symbol {names[k]!r} at {parts[k].index[i - starts[k]]}"
            )

        symbols = tuple(names[k] for k in order)
        return cls._from_rows(ts, codes, symbols, cols, timeframe, duplicate)

    @classmethod
    def from_wide(
        cls,
        index: pd.Index,
        symbols: Sequence[str],
        fields: Mapping[str, Any],
        timeframe: str = "1d",
        meta: dict[str, Any] | None = None,
    ) -> Panel:
        """Fields given as (time x symbol) arrays or frames on one ``index``.

        ``fields`` needs ``close`` (``open, high, low`` default to NaN unless given, ``volume``
        to NaN). Symbols are sorted; rows out of time order are sorted; rows where no symbol has
        a close are dropped (no symbol has a bar there); a repeated timestamp is an error.
        """
        if "close" not in fields:
            raise DataError("bars are missing column(s) close")
        names = [str(s) for s in symbols]
        if len(set(names)) != len(names):
            raise DataError(f"symbols repeat: {', '.join(names)}")
        ts = utc_index(index)
        n = len(ts)
        if n == 0 or not names:
            raise DataError("no bars to build a panel from")
        order = sorted(range(len(names)), key=names.__getitem__)
        t = ts.asi8
        rows: np.ndarray | None = None
        if not _increasing(t):
            rows = np.argsort(t, kind="stable")
            st = t[rows]
            same = np.flatnonzero(st[1:] == st[:-1])
            if len(same):
                raise DataError(
                    f"duplicate bar for symbol {names[order[0]]!r} at {index[rows[same[0] + 1]]}"
                )
        arrays: dict[str, np.ndarray] = {}
        for f in FIELDS:
            got = fields.get(f)
            if got is None:
                arrays[f] = np.full((n, len(names)), np.nan)
                continue
            a = np.asarray(got, dtype=np.float64)
            if a.ndim == 1:
                a = a.reshape(-1, 1)
            if a.shape != (n, len(names)):
                raise DataError(f"field {f!r} has shape {a.shape}, expected {(n, len(names))}")
            if order != list(range(len(names))):
                a = a[:, order]
            arrays[f] = a
        keep = ~np.all(np.isnan(arrays["close"]), axis=1)
        take: Any = None
        if rows is not None:
            take = rows[keep[rows]]
        elif not keep.all():
            take = np.flatnonzero(keep)
        if take is not None:
            ts = ts[take]
            arrays = {f: a[take] for f, a in arrays.items()}
        symbols_sorted = tuple(names[k] for k in order)
        owned = {f: _owned(a) for f, a in arrays.items()}
        return cls._of(_named(ts), symbols_sorted, timeframe, owned, meta)

    @classmethod
    def _from_rows(
        cls,
        ts: pd.DatetimeIndex,
        codes: np.ndarray,
        symbols: tuple[str, ...],
        columns: Mapping[str, Any],
        timeframe: str,
        duplicate: Callable[[int], DataError],
    ) -> Panel:
        """Scatter rows (UTC time, symbol code, field values) into (time x symbol) arrays."""
        t = ts.asi8
        if ts.hasnans:
            raise DataError("bars have missing timestamps")
        n_sym = len(symbols)
        if n_sym == 1 and _increasing(t):
            arrays = {f: _column(columns[f]) for f in FIELDS}
            return cls._of(_named(ts), symbols, timeframe, arrays)
        rows, uniq = pd.factorize(t, sort=True)
        flat = rows.astype(np.int64) * n_sym + codes
        seen = np.zeros(len(uniq) * n_sym, dtype=bool)
        seen[flat] = True
        if int(np.count_nonzero(seen)) != len(flat):
            first = int(np.argmax(pd.Series(flat).duplicated().to_numpy()))
            raise duplicate(first)
        del seen
        index = pd.DatetimeIndex(np.asarray(uniq).view(f"M8[{ts.unit}]")).tz_localize("UTC")
        arrays = {}
        for f in FIELDS:
            a = np.full((len(uniq), n_sym), np.nan)
            a.reshape(-1)[flat] = _values(columns[f])
            arrays[f] = a
        return cls._of(_named(index), symbols, timeframe, arrays)

    @classmethod
    def _of(
        cls,
        index: pd.DatetimeIndex,
        symbols: tuple[str, ...],
        timeframe: str,
        arrays: Mapping[str, np.ndarray],
        meta: dict[str, Any] | None = None,
    ) -> Panel:
        return cls(
            index=index,
            symbols=symbols,
            open=arrays["open"],
            high=arrays["high"],
            low=arrays["low"],
            close=arrays["close"],
            volume=arrays["volume"],
            timeframe=timeframe,
            meta=dict(meta or {}),
        )

    def to_long(self) -> pd.DataFrame:
        parts = []
        for j, s in enumerate(self.symbols):
            df = pd.DataFrame({f: getattr(self, f)[:, j] for f in FIELDS})
            df.insert(0, "timestamp", self.index)
            df.insert(0, "symbol", s)
            parts.append(df.dropna(subset=["close"]))
        return pd.concat(parts, ignore_index=True)


def utc_time(ts: pd.Timestamp | str) -> pd.Timestamp:
    """A time in UTC (a naive time is read as UTC)."""
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def short_time(ts: pd.Timestamp | str) -> str:
    """A time in UTC, short, as tables and messages show it: ``2019-06-19`` at midnight (a
    daily bar), else ``2019-06-19 14:31``, with seconds when it has some."""
    t = utc_time(ts)
    if t == t.normalize():
        return f"{t:%Y-%m-%d}"
    return f"{t:%Y-%m-%d %H:%M:%S}" if t.second or t.microsecond else f"{t:%Y-%m-%d %H:%M}"


def utc_index(values: Any) -> pd.DatetimeIndex:
    """Timestamps as a UTC :class:`pandas.DatetimeIndex` (naive values are taken as UTC; the
    resolution of datetime input is kept)."""
    idx = (
        values if isinstance(values, pd.DatetimeIndex) else pd.DatetimeIndex(pd.to_datetime(values))
    )
    return idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")


def iso_texts(index: pd.DatetimeIndex) -> list[str]:
    """``[ts.isoformat() for ts in index]``, formatted in one vectorized pass when every time
    is a whole second in UTC or naive (bars are), else time by time."""
    tz = index.tz
    values = (index if tz is None else index.tz_convert(None)).to_numpy()  # UTC wall times
    seconds = values.astype("datetime64[s]")
    if (tz is None or str(tz) == "UTC") and bool((seconds == values).all()):
        texts = np.datetime_as_string(seconds, unit="s")
        suffix = "" if tz is None else "+00:00"
        return [f"{x}{suffix}" for x in texts.tolist()]
    return [ts.isoformat() for ts in index]


def _named(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The panel's index: named ``timestamp``, no frequency (as built from sorted timestamps)."""
    if index.name == "timestamp" and index.freq is None:
        return index
    return pd.DatetimeIndex(index, freq=None, name="timestamp")  # type: ignore[arg-type]


def _increasing(t: np.ndarray) -> bool:
    """Strictly increasing (so in time order and without repeats)."""
    return bool(len(t) < 2 or np.all(t[1:] > t[:-1]))


def _symbol_codes(column: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-row codes into the sorted symbol names (as text) of a symbol column."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    names = [str(u) for u in uniques]
    symbols = tuple(sorted(set(names)))
    pos = {s: k for k, s in enumerate(symbols)}
    remap = np.array([pos[s] for s in names], dtype=np.intp)
    return remap[codes], symbols


def _values(column: Any) -> np.ndarray:
    if isinstance(column, pd.Series | pd.Index):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(column, dtype=np.float64)


def _column(column: Any) -> np.ndarray:
    """A field of one symbol as a (bars, 1) array: a view of ``column`` when it is contiguous
    float64 data, else a copy."""
    a = _values(column)
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    a = a.reshape(-1, 1)
    if not a.flags.writeable:  # a read-only view (copy-on-write pandas): the panel's own view
        try:
            a = a.view()
            a.setflags(write=True)
        except ValueError:
            a = a.copy()
    return a


def _owned(a: np.ndarray) -> np.ndarray:
    """C-contiguous and writeable (the engine's kernels take writeable arrays)."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, dtype=np.float64, order="C")
