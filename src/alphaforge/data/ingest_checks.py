"""Column mapping, timestamp parsing and value checks used by :mod:`alphaforge.data.ingest`."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from alphaforge.core.errors import DataError
from alphaforge.data.schema import parse_timeframe

if TYPE_CHECKING:
    from alphaforge.data.ingest import IngestReport

CANONICAL: tuple[str, ...] = (
    "symbol",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "adj_close",
)
_PRICES = ("open", "high", "low", "close", "adj_close")

# Keys are lower-cased names with spaces, "_", "-" and "." removed; order is priority.
_ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker", "sym", "instrument", "pair", "code"),
    "timestamp": ("timestamp", "datetime", "datetimeutc", "ts", "opentime", "unix", "time"),
    "_date": ("date",),
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice"),
    "adj_close": ("adjclose", "adjustedclose", "adjclosingprice"),
    "volume": ("volume", "vol", "v"),
}
_OFFSET = re.compile(
    r"(?:\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)|\s(?:UTC|GMT))$"
)


@dataclass(frozen=True)
class Locator:
    """Names rows in error messages: ``file: line N`` (CSV) or ``file: row N``."""

    source: str
    kind: Literal["line", "row"]
    lines: np.ndarray

    def where(self, position: int) -> str:
        return f"{self.source}: {self.kind} {int(self.lines[position])}"

    def at_line(self, line: int) -> str:
        return f"{self.source}: {self.kind} {int(line)}"


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.strip().lower())


def canonical_columns(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map original column names to canonical ones; returns ``(mapping, ignored)``."""
    keys = {n: _key(n) for n in names}
    mapping: dict[str, str] = {}
    for canon, aliases in _ALIASES.items():
        for alias in aliases:
            hit = next((n for n in names if keys[n] == alias and n not in mapping), None)
            if hit is not None:
                mapping[hit] = canon
                break
    if "_date" in mapping.values() and "timestamp" in mapping.values():
        time_col = next(o for o, c in mapping.items() if c == "timestamp")
        if keys[time_col] == "time":  # separate Date and Time columns
            mapping[time_col] = "_time"
    ignored = [n for n in names if n not in mapping and not n.startswith("__index_level")]
    ignored = [n for n in ignored if _key(n) not in {"index", "unnamed0", ""}]
    return mapping, ignored


def parse_timestamps(
    raw: pd.Series,
    loc: Locator,
    timeframe: str | None,
    tz: str | None,
    report: IngestReport,
) -> tuple[pd.Series, str]:
    """Parse a timestamp column to ``datetime64[ns, UTC]``; returns it and the timeframe."""
    missing = raw.isna().to_numpy()
    if missing.any():
        raise DataError(f"{loc.where(int(np.argmax(missing)))}, column 'timestamp': missing value")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = pd.Series(pd.DatetimeIndex(raw), index=raw.index)
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        values = _from_epoch(raw.to_numpy(), loc)
    else:
        values = _from_strings(raw.astype("str").str.strip(), loc)
    tf = parse_timeframe(timeframe).name if timeframe else _detect(values, report)
    if timeframe and tf != "1d":
        _check_intraday(values, tf, loc)
    if tf == "1d":
        out = _daily(values, tz, report)
    elif values.dt.tz is not None:
        out = values.dt.tz_convert("UTC")
    else:
        out = _localize(values, tz, loc, report)
    return out.dt.as_unit("ns"), tf


def _check_intraday(values: pd.Series, tf: str, loc: Locator) -> None:
    """Refuse an intraday timeframe for dates without a time of day (daily bars stored as
    minutes otherwise)."""
    if len(values) < 2:
        return
    idx = pd.DatetimeIndex(values)
    if bool((idx == idx.normalize()).all()):
        raise DataError(
            f"{loc.source}: timeframe {tf}: every timestamp is a date without a time of day "
            "(daily bars?); import with --timeframe 1d or leave it out to detect it"
        )


def _detect(values: pd.Series, report: IngestReport) -> str:
    from alphaforge.core.timeframe import detect_timeframe

    tf = report.timeframe or detect_timeframe(values)
    report.note(f"timeframe {tf} (detected)")
    return tf


def _from_epoch(arr: np.ndarray, loc: Locator) -> pd.Series:
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{loc.where(i)}, column 'timestamp': not a unix time: {arr[i]!r}")
    ints = arr.astype(np.int64)
    mag = np.abs(ints)
    scale = np.where(
        mag < 10**11, 10**9, np.where(mag < 10**14, 10**6, np.where(mag < 10**17, 10**3, 1))
    )
    ns = ints * scale
    return pd.Series(pd.to_datetime(ns, unit="ns", utc=True))


def _from_strings(text: pd.Series, loc: Locator) -> pd.Series:
    if text.str.fullmatch(r"-?\d+").all():
        return _from_epoch(text.astype("int64").to_numpy(), loc)
    has_off = text.str.contains(_OFFSET).to_numpy()
    if has_off.any() and not has_off.all():
        i = int(np.argmax(has_off != has_off[0]))
        first = "with" if has_off[0] else "without"
        raise DataError(
            f"{loc.where(i)}, column 'timestamp': mixed timezones: {text.iloc[i]!r} differs "
            f"from the first row ({first} a UTC offset)"
        )
    return _parse_text(text, loc, aware=bool(has_off.all()))


def _parse_text(text: pd.Series, loc: Locator, aware: bool) -> pd.Series:
    """Parse date strings; one shared offset is kept (daily dates stay as written)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for fmt, utc in (("ISO8601", False), ("ISO8601", aware), (None, aware)):
            try:
                return pd.Series(pd.to_datetime(text, format=fmt, utc=utc))
            except (ValueError, TypeError, OverflowError):
                continue
        coerced = pd.to_datetime(text, errors="coerce", utc=aware, format="mixed")
    bad = coerced.isna().to_numpy()
    i = int(np.argmax(bad)) if bad.any() else 0
    raise DataError(f"{loc.where(i)}, column 'timestamp': cannot parse date {text.iloc[i]!r}")


def _daily(values: pd.Series, tz: str | None, report: IngestReport) -> pd.Series:
    if values.dt.tz is not None:
        values = values.dt.tz_convert(tz) if tz else values
        values = values.dt.tz_localize(None)
    dates = values.dt.normalize()
    if (dates != values).any():
        report.note("daily timestamps carried a time of day; kept the date only")
    return dates.dt.tz_localize("UTC")


def _localize(values: pd.Series, tz: str | None, loc: Locator, report: IngestReport) -> pd.Series:
    if not tz:
        report.note("naive intraday timestamps were taken as UTC (pass --tz to change)")
        return values.dt.tz_localize("UTC")
    try:
        return values.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise").dt.tz_convert(
            "UTC"
        )
    except Exception as exc:  # pytz/zoneinfo raise several types
        raise DataError(
            f"{loc.source}: column 'timestamp': cannot place naive times in zone {tz!r}: "
            f"{str(exc).splitlines()[0]}"
        ) from None


def check_values(df: pd.DataFrame, loc: Locator) -> None:
    """Coerce price/volume columns to float64 in place; raise on bad values."""
    for col in (*_PRICES, "volume"):
        if col not in df.columns:
            continue
        values = numeric_column(df[col], col, loc)
        _check_numbers(values, col, loc)
        df[col] = values


def numeric_column(raw: pd.Series, col: str, loc: Locator) -> np.ndarray:
    """A price or volume column as float64 (missing values NaN); text that is not a number is
    refused naming its line and value."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and raw.dtype != bool:
        return raw.to_numpy(dtype=np.float64, na_value=np.nan)
    coerced = pd.to_numeric(raw, errors="coerce")
    bad = coerced.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{loc.where(i)}, column {col!r}: not a number: {raw.iloc[i]!r}")
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan)


MAX_PRICE = 1e12
"""A price above this is refused as a broken value (a 1e308 close makes every return and
equity value that touches it infinite)."""


def value_faults(values: np.ndarray, col: str) -> list[tuple[np.ndarray, str]]:
    """The rules of a price or volume column, in the order they are reported: (the values
    that break one, what it says). NaN breaks none (a missing value is checked apart: a file
    refuses it, a frame's missing bar is all NaN)."""
    with np.errstate(invalid="ignore"):
        checks = [(np.isinf(values), "not finite")]
        if col == "volume":
            checks.append((values < 0, "negative volume"))
        else:
            checks.append((values <= 0, "price must be positive"))
            checks.append((values > MAX_PRICE, f"price above {MAX_PRICE:g} (a broken value?)"))
    return checks


def broken_bars(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> list[tuple[np.ndarray, str]]:
    """Bars kept as they are but noted: (the bars, what): a high below the low, and an open
    or close outside high-low."""
    outside = ((h < np.maximum(o, c)) | (lo > np.minimum(o, c))) & (h >= lo)
    return [(h < lo, "high below low"), (outside, "open or close outside high-low")]


def _check_numbers(values: np.ndarray, col: str, loc: Locator) -> None:
    checks = [(np.isnan(values), "missing value"), *value_faults(values, col)]
    for bad, what in checks:
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{loc.where(i)}, column {col!r}: {what} ({float(values[i])!r})")


def note_broken_bars(df: pd.DataFrame, loc: Locator, report: IngestReport) -> None:
    """Note rows whose high is below their low, or below the open or close (or whose low is
    above them): stored as they are, reported with the first line and the count."""
    o, h, lo, c = (df[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close"))
    for bad, what in broken_bars(o, h, lo, c):
        if bad.any():
            i = int(np.argmax(bad))
            row = (f"{loc.kind} {int(loc.lines[i])}: {what} (high {h[i]:g}, low {lo[i]:g}); "
                   f"{int(bad.sum())} such row(s)")  # fmt: skip
            report.note(f"{row} stored as they are (`alphaforge data check` lists them)")
            report.suspect.append(f"{loc.source}, {row}")


def note_spikes(df: pd.DataFrame, loc: Locator, report: IngestReport) -> None:
    """Note bad ticks (the ``spikes`` check of :mod:`alphaforge.data.quality`) in bars sorted by
    symbol and time: stored as they are, reported per symbol with the first one."""
    from alphaforge.data.quality import spike_notes

    for symbol, note in spike_notes(df):
        report.note(f"{note}; stored as they are (`alphaforge data check {symbol}` lists them)")
        report.suspect.append(f"{loc.source}, {note}")


def resolve_duplicates(
    df: pd.DataFrame,
    loc: Locator,
    on_duplicate: str,
    report: IngestReport,
    last: dict[str, pd.Series],
) -> pd.DataFrame:
    """Drop exact duplicates, apply the policy to conflicting keys (also across chunks)."""
    if last:
        df = _across_chunks(df, loc, on_duplicate, report, last)
    keys = ["symbol", "timestamp"]
    dup = df.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return df
    values = [c for c in CANONICAL if c in df.columns]
    exact = df.duplicated(values, keep="first").to_numpy()
    if exact.any():
        report.note(f"dropped {int(exact.sum())} exact duplicate row(s)")
        df = df[~exact].reset_index(drop=True)
    conflict = df.duplicated(keys, keep=False).to_numpy()
    if not conflict.any():
        return df
    if on_duplicate not in {"first", "last"}:
        rows = df[conflict].iloc[:2]
        a, b = rows.iloc[0], rows.iloc[1]
        col = next(c for c in values if a[c] != b[c])
        raise DataError(
            f"{loc.source}: {loc.kind}s {a['_line']} and {b['_line']}: conflicting duplicate "
            f"bars for {a['symbol']!r} at {a['timestamp']} (column {col!r}: {a[col]} vs "
            f"{b[col]}); {_KEEP_ONE}"
        )
    keep: Literal["first", "last"] = "first" if on_duplicate == "first" else "last"
    n = int(df.duplicated(keys, keep=keep).sum())
    report.note(f"kept the {on_duplicate} of conflicting duplicates ({n} row(s) dropped)")
    return df.drop_duplicates(keys, keep=keep).reset_index(drop=True)


_KEEP_ONE = (
    "keep one of each with `alphaforge data import FILE --on-duplicate first|last` (then run "
    "from the store), or remove them from the file"
)


def _across_chunks(
    df: pd.DataFrame,
    loc: Locator,
    on_duplicate: str,
    report: IngestReport,
    last: dict[str, pd.Series],
) -> pd.DataFrame:
    prev_ts = df["symbol"].map({s: r["timestamp"] for s, r in last.items()})
    has_prev = prev_ts.notna().to_numpy()
    if not has_prev.any():
        return df
    ts = pd.DatetimeIndex(df["timestamp"]).as_unit("ns").asi8
    prev = pd.DatetimeIndex(prev_ts[has_prev]).as_unit("ns").asi8
    back = np.zeros(len(df), dtype=bool)
    back[has_prev] = ts[has_prev] < prev
    if back.any():
        r = df.iloc[int(np.argmax(back))]
        raise DataError(
            f"{loc.at_line(r['_line'])}, column 'timestamp': {r['symbol']!r} at {r['timestamp']} "
            "goes back before rows of an earlier part of the file; sort the file by symbol "
            "and time first"
        )
    same = np.zeros(len(df), dtype=bool)
    same[has_prev] = ts[has_prev] == prev
    drop = np.zeros(len(df), dtype=bool)
    values = [c for c in CANONICAL if c in df.columns and c not in ("symbol", "timestamp")]
    for i in np.flatnonzero(same):
        row, old = df.iloc[i], last[df["symbol"].iloc[i]]
        if all(row[c] == old.get(c) for c in values):
            drop[i] = True
            report.note("dropped exact duplicate row(s) across parts of the file")
        elif on_duplicate == "first":
            drop[i] = True
        elif on_duplicate != "last":
            raise DataError(
                f"{loc.source}: {loc.kind}s {old['_line']} and {row['_line']}: conflicting "
                f"duplicate bars for {row['symbol']!r} at {row['timestamp']}; {_KEEP_ONE}"
            )
    return df[~drop].reset_index(drop=True)
