"""Data-quality checks for long bar frames.

:func:`check_bars` runs every check on a long frame (``symbol, timestamp, open, high, low,
close, volume`` and optionally ``adj_close``) and returns a :class:`QualityReport`. It works on
raw files as well as on store contents, so it tolerates duplicate keys and unsorted rows (and
reports them). All checks are vectorised over the whole frame: no Python loop runs per row.

Checks (``count`` is a number of rows unless said otherwise):

* ``duplicates``: surplus rows repeating the ``(symbol, timestamp)`` key of an earlier row.
* ``unordered``: rows earlier than the previous row of the same symbol (input order).
* ``nan``: a missing open, high, low, close, volume or timestamp.
* ``non_positive``: an open, high, low or close ``<= 0``.
* ``high_low``: ``high < low``.
* ``ohlc_range``: open or close outside ``[low, high]`` (``high < max(open, close)`` or
  ``low > min(open, close)``).
* ``zero_volume``: ``volume == 0``.
* ``gaps``: expected bars missing between a symbol's first and last bar: sessions for daily
  bars, regular-hours bar starts for intraday bars (count of missing bars; the examples are the
  missing timestamps).
* ``off_calendar``: a daily bar on a non-session, an intraday bar starting outside regular hours.
* ``outliers``: log returns farther than ``outlier_sigma`` robust sigmas (``1.4826 * MAD``) from
  the symbol's median return, on ``adj_close`` when that column exists.
* ``spikes``: bad ticks: a bar whose return is an outlier and whose next return is an outlier
  that undoes it, its two neighbours agreeing within a quarter of the smaller move, and at least
  50% away from both (the price jumps away and straight back, as a close 1,000 times too high
  does); a crash that is not undone the next bar is an outlier only.
* ``unadjusted_split``: with ``adj_close``, raw-close jumps beyond ``outlier_sigma`` that vanish
  in the adjusted series, i.e. coincide with a change of the factor ``adj_close / close``.
* ``stale``: bars in runs of ``>= stale_run`` bars with ``open == high == low == close`` and an
  unchanged close.

Calendars: ``"XNYS"`` for symbols that look like equities, ``"24/7"`` for crypto pairs (the symbol
contains ``"/"`` or the symbol has bars on a weekend). Pass ``calendar=`` to use one calendar for
every symbol; ``calendar="union"`` takes as expected grid the union of all timestamps in the
frame (useful for a universe without a known calendar). The choice of calendars and the
``gaps`` and ``off_calendar`` checks live in :mod:`alphaforge.data.quality_calendar`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import DataError
from alphaforge.core.panel import short_time
from alphaforge.data.quality_calendar import UNION_CALENDAR as UNION_CALENDAR
from alphaforge.data.quality_calendar import assign_calendars, gap_checks
from alphaforge.data.schema import BAR_COLUMNS, parse_timeframe

ERROR_CHECKS: tuple[str, ...] = (
    "duplicates",
    "unordered",
    "nan",
    "non_positive",
    "high_low",
    "ohlc_range",
)
WARNING_CHECKS: tuple[str, ...] = (
    "zero_volume",
    "gaps",
    "off_calendar",
    "outliers",
    "spikes",
    "unadjusted_split",
    "stale",
)
CHECKS: tuple[str, ...] = ERROR_CHECKS + WARNING_CHECKS
MAX_EXAMPLES = 5
_DAY_NS = 86_400_000_000_000
_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Issue:
    """One finding: ``count`` occurrences of ``check`` for ``symbol``.

    ``examples`` holds the first few timestamps concerned (at most :data:`MAX_EXAMPLES`).
    """

    symbol: str
    check: str
    count: int
    examples: tuple[pd.Timestamp, ...] = ()

    @property
    def severity(self) -> str:
        """``"error"`` for broken bars, ``"warning"`` for suspicious ones."""
        return "error" if self.check in ERROR_CHECKS else "warning"

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "check": self.check,
            "severity": self.severity,
            "count": self.count,
            "examples": [ts.isoformat() for ts in self.examples],
        }


@dataclass
class QualityReport:
    """The findings of :func:`check_bars` for a set of symbols."""

    timeframe: str
    rows: dict[str, int] = field(default_factory=dict)
    calendars: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    @property
    def symbols(self) -> list[str]:
        return sorted(self.rows)

    @property
    def ok(self) -> bool:
        """``True`` when no check found anything."""
        return not self.issues

    @property
    def has_errors(self) -> bool:
        """``True`` when a check of severity ``"error"`` found something."""
        return any(issue.severity == "error" for issue in self.issues)

    def issues_for(self, symbol: str) -> list[Issue]:
        return [issue for issue in self.issues if issue.symbol == symbol]

    def count(self, check: str) -> int:
        """Total count of ``check`` over all symbols."""
        return sum(issue.count for issue in self.issues if issue.check == check)

    def summary(self) -> pd.DataFrame:
        """One row per symbol (index), columns ``rows``, ``calendar`` and one per check."""
        found = pd.DataFrame(
            [(i.symbol, i.check, i.count) for i in self.issues], columns=["symbol", "check", "n"]
        )
        table = (
            found.pivot_table(index="symbol", columns="check", values="n", aggfunc="sum")
            .reindex(index=pd.Index(self.symbols, name="symbol"), columns=list(CHECKS))
            .fillna(0)
            .astype(np.int64)
        )
        table.columns.name = None
        table.insert(0, "calendar", [self.calendars.get(s, "") for s in table.index])
        table.insert(0, "rows", [self.rows[s] for s in table.index])
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeframe": self.timeframe,
            "ok": self.ok,
            "symbols": len(self.rows),
            "rows": int(sum(self.rows.values())),
            "totals": {check: self.count(check) for check in CHECKS},
            "calendars": dict(sorted(self.calendars.items())),
            "issues": [issue.to_dict() for issue in self.issues],
        }

    @classmethod
    def combine(cls, reports: Iterable[QualityReport]) -> QualityReport:
        """Merge reports on disjoint symbol sets (e.g. batches of a big store)."""
        merged: QualityReport | None = None
        for report in reports:
            if merged is None:
                merged = cls(report.timeframe)
            merged.rows.update(report.rows)
            merged.calendars.update(report.calendars)
            merged.issues.extend(report.issues)
        if merged is None:
            raise DataError("quality: no reports to combine")
        merged.issues.sort(key=lambda i: (i.symbol, CHECKS.index(i.check)))
        return merged


@dataclass
class _Bars:
    """Column arrays of the frame, sorted by (symbol, timestamp)."""

    names: np.ndarray
    codes: np.ndarray
    ts: np.ndarray  # int64 UTC nanoseconds (daily: the session date at 00:00)
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray
    adj: np.ndarray | None
    daily: bool

    @property
    def n_symbols(self) -> int:
        return len(self.names)

    def prev_same(self) -> np.ndarray:
        """``True`` where the previous row belongs to the same symbol."""
        out = np.zeros(len(self.codes), dtype=bool)
        out[1:] = self.codes[1:] == self.codes[:-1]
        return out

    def stamp(self, ns: np.ndarray) -> list[pd.Timestamp]:
        index = pd.DatetimeIndex(ns.astype("datetime64[ns]"))
        return list(index) if self.daily else list(index.tz_localize("UTC"))


def check_bars(
    bars_long: pd.DataFrame,
    timeframe: str,
    calendar: str | None = None,
    *,
    outlier_sigma: float = 8.0,
    stale_run: int = 5,
) -> QualityReport:
    """Run every data-quality check on a long bar frame, per symbol.

    Parameters
    ----------
    bars_long
        Long bars (``symbol, timestamp, open, high, low, close, volume``, optional ``adj_close``);
        unsorted frames and duplicate keys are accepted and reported.
    timeframe
        Bar interval (``"1m"`` ... ``"1d"``): daily gaps are missing sessions, intraday gaps are
        missing regular-hours bars.
    calendar
        Calendar for every symbol (``"XNYS"``, ``"24/7"``, ``"union"`` ...); ``None`` picks one per
        symbol (``"24/7"`` for crypto pairs, ``"XNYS"`` otherwise).
    outlier_sigma
        Threshold of the outlier check in robust sigmas.
    stale_run
        Minimum length of a run of flat, unchanged bars reported as stale.

    Returns
    -------
    QualityReport
        Findings per symbol; ``report.ok`` is ``True`` when nothing was found.

    Raises
    ------
    DataError
        When a required column is missing or timestamps cannot be parsed.
    """
    tf = parse_timeframe(timeframe)
    if bars_long.empty:
        return QualityReport(tf.name)
    bars, unordered = _prepare(bars_long, daily=not tf.is_intraday)
    counts = np.bincount(bars.codes, minlength=bars.n_symbols)
    cal_names = assign_calendars(bars, calendar)
    report = QualityReport(
        tf.name,
        rows={str(s): int(n) for s, n in zip(bars.names, counts, strict=True)},
        calendars={str(s): c for s, c in zip(bars.names, cal_names, strict=True)},
    )
    masks = _all_checks(bars, unordered, cal_names, tf.name, outlier_sigma, stale_run)
    for check in CHECKS:
        mask, example_ns = masks[check]
        report.issues.extend(_issues(bars, check, mask, example_ns))
    report.issues.sort(key=lambda i: (i.symbol, CHECKS.index(i.check)))
    return report


_Masks = dict[str, tuple[np.ndarray, np.ndarray | None]]


def _all_checks(
    bars: _Bars,
    unordered: np.ndarray,
    cal_names: Sequence[str],
    timeframe: str,
    outlier_sigma: float,
    stale_run: int,
) -> _Masks:
    """Per-row masks (or counts) and optional example timestamps of every check."""
    dup_next = np.zeros(len(bars.ts), dtype=bool)
    dup_next[1:] = bars.prev_same()[1:] & (bars.ts[1:] == bars.ts[:-1])
    masks: _Masks = {"duplicates": (dup_next, None), "unordered": (unordered, None)}
    masks.update({name: (mask, None) for name, mask in _row_checks(bars).items()})
    keep = ~dup_next  # the first row of each key, for checks along time
    masks.update(gap_checks(bars, keep & (bars.ts != _NAT), cal_names, timeframe))
    masks.update(_return_checks(bars, keep, outlier_sigma))
    masks["stale"] = _stale_check(bars, keep, stale_run)
    return masks


def _prepare(frame: pd.DataFrame, *, daily: bool) -> tuple[_Bars, np.ndarray]:
    """Sorted column arrays plus the ``unordered`` mask (aligned with the sorted rows)."""
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"quality: bars are missing column(s) {', '.join(missing)}")
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"]))
    except (ValueError, TypeError) as exc:
        raise DataError(f"quality: column timestamp cannot be parsed as dates ({exc})") from exc
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    ts = np.asarray(stamps.as_unit("ns").asi8, dtype=np.int64).copy()
    if daily:
        valid = ts != _NAT
        ts[valid] -= ts[valid] % _DAY_NS
    codes, names = pd.factorize(frame["symbol"].astype(str), sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    unordered = np.zeros(len(ts), dtype=bool)
    unordered[1:] = (codes[1:] == codes[:-1]) & (ts[1:] < ts[:-1])
    order = np.lexsort((ts, codes))

    def col(name: str) -> np.ndarray:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        return np.asarray(values[order])

    adj = col("adj_close") if "adj_close" in frame.columns else None
    bars = _Bars(
        names=np.asarray(names, dtype=object),
        codes=codes[order],
        ts=ts[order],
        o=col("open"),
        h=col("high"),
        low=col("low"),
        c=col("close"),
        v=col("volume"),
        adj=adj,
        daily=daily,
    )
    return bars, unordered[order]


def _row_checks(bars: _Bars) -> dict[str, np.ndarray]:
    o, h, low, c = bars.o, bars.h, bars.low, bars.c
    with np.errstate(invalid="ignore"):
        return {
            "nan": np.isnan(o)
            | np.isnan(h)
            | np.isnan(low)
            | np.isnan(c)
            | np.isnan(bars.v)
            | (bars.ts == _NAT),
            "non_positive": (o <= 0) | (h <= 0) | (low <= 0) | (c <= 0),
            "high_low": h < low,
            "ohlc_range": (o > h) | (o < low) | (c > h) | (c < low),
            "zero_volume": bars.v == 0,
        }


def _robust(r: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row median and robust sigma (1.4826 * MAD) of ``r`` grouped by ``codes``."""
    series = pd.Series(r)
    grouped = series.groupby(codes)
    med = grouped.transform("median").to_numpy()
    mad = pd.Series(np.abs(r - med)).groupby(codes).transform("median").to_numpy()
    sigma = 1.4826 * mad
    std = grouped.transform("std").to_numpy()
    sigma = np.where(sigma > 0, sigma, std)  # a mostly flat series: fall back to the std
    return med, sigma


def _log_returns(px: np.ndarray, bars: _Bars, keep: np.ndarray) -> np.ndarray:
    """Log returns over consecutive kept rows of the same symbol (NaN elsewhere)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(px > 0, np.log(px), np.nan)
    rows = np.flatnonzero(keep)
    out = np.full(len(px), np.nan)
    if len(rows) > 1:
        same = bars.codes[rows[1:]] == bars.codes[rows[:-1]]
        out[rows[1:]] = np.where(same, logp[rows[1:]] - logp[rows[:-1]], np.nan)
    return out


def _return_checks(bars: _Bars, keep: np.ndarray, k: float) -> _Masks:
    adjusted = bars.adj is not None
    r = _log_returns(bars.adj if bars.adj is not None else bars.c, bars, keep)
    med, sigma = _robust(r, bars.codes)
    with np.errstate(invalid="ignore"):
        outliers = np.abs(r - med) > k * sigma
        split = np.zeros(len(r), dtype=bool)
        if adjusted:
            raw = _log_returns(bars.c, bars, keep)
            split = (np.abs(raw - med) > k * sigma) & ~outliers
    spikes = _spikes(r, outliers, bars, keep)
    return {"outliers": (outliers, None), "spikes": (spikes, None),
            "unadjusted_split": (split, None)}  # fmt: skip


SPIKE_MOVE = float(np.log(1.5))
"""The least jump of a spike, in log return, both ways: a price 50% above both neighbours (or a
third below). Thin markets bounce by many robust sigmas between two prices; a bad tick (a
price in cents, a digit lost or added) moves far more."""


def spike_shape(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """The shape of a spike from its return in ``ra`` and out ``rb`` (log): at least
    :data:`SPIKE_MOVE` both ways, the two neighbours agreeing within a quarter of the smaller
    move."""
    with np.errstate(invalid="ignore"):
        leg = np.minimum(np.abs(ra), np.abs(rb))
        return (np.abs(ra + rb) <= 0.25 * leg) & (leg >= SPIKE_MOVE)


def _spikes(r: np.ndarray, outliers: np.ndarray, bars: _Bars, keep: np.ndarray) -> np.ndarray:
    """Rows whose log return ``r`` is an outlier and whose symbol's next kept row has an
    outlier return that undoes it (:func:`spike_shape`)."""
    rows = np.flatnonzero(keep)
    out = np.zeros(len(r), dtype=bool)
    if len(rows) > 1:
        a, b = rows[:-1], rows[1:]
        same = bars.codes[a] == bars.codes[b]
        out[a] = same & outliers[a] & outliers[b] & spike_shape(r[a], r[b])
    return out


SPIKE_SIGMA = 8.0
"""The ``spikes`` check's outlier threshold (robust sigmas) where bars are used rather than
inspected: on import and for a backtest or replay (``data check --outlier-sigma`` sets it
there)."""


def spike_notes(bars_long: pd.DataFrame, k: float = SPIKE_SIGMA) -> list[tuple[str, str]]:
    """(symbol, line) for each symbol with bad ticks (the ``spikes`` check on the close): how
    many, and the first one with the closes around it. ``bars_long`` is sorted by symbol and
    time with one row per bar (as the store and the importer give them). Clean bars cost one
    numpy pass: only the symbols whose closes have a spike's shape (:func:`spike_shape`) go through
    the check itself."""
    n = len(bars_long)
    if n < 3:
        return []
    sym = bars_long["symbol"].to_numpy()
    c = bars_long["close"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.log(np.where(c > 0, c, np.nan))
    r = np.full(n, np.nan)
    r[1:] = np.where(sym[1:] == sym[:-1], logp[1:] - logp[:-1], np.nan)
    shape = np.zeros(n, dtype=bool)
    shape[:-1] = spike_shape(r[:-1], r[1:])  # in: the return into the bar; out: the next one
    if not shape.any():
        return []
    suspects = bars_long.loc[np.isin(sym, sym[shape]), ["symbol", "timestamp", "close"]]
    bars, _unordered = _prepare(suspects.assign(open=0.0, high=0.0, low=0.0, volume=0.0),
                                daily=False)  # fmt: skip
    mask, _ex = _return_checks(bars, np.ones(len(bars.ts), dtype=bool), k)["spikes"]
    notes = []
    for code in np.unique(bars.codes[mask]).tolist():
        hits = np.flatnonzero(mask & (bars.codes == code))
        i = int(hits[0])  # an outlier both ways: its neighbours are rows of its symbol
        text = short_time(bars.stamp(bars.ts[i : i + 1])[0])
        name = str(bars.names[code])
        notes.append((name, f"{name} {text}: close {bars.c[i]:,.6g} between {bars.c[i - 1]:,.6g} "
                            f"and {bars.c[i + 1]:,.6g} (a bad tick?); {len(hits)} such bar(s)"))  # fmt: skip
    return notes


def _stale_check(
    bars: _Bars, keep: np.ndarray, min_run: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows in stale runs, with each run's first timestamp as example."""
    flat = keep & (bars.o == bars.h) & (bars.h == bars.low) & (bars.low == bars.c)
    rows = np.flatnonzero(flat)
    stale = np.zeros(len(bars.ts), dtype=bool)
    if len(rows) == 0:
        return stale, None
    # A flat row continues a run when the previous kept row is flat, same symbol, same close.
    kept = np.flatnonzero(keep)
    prev_kept = np.full(len(bars.ts), -1)
    prev_kept[kept[1:]] = kept[:-1]
    prev = prev_kept[rows]
    cont = (prev >= 0) & flat[np.maximum(prev, 0)]
    cont &= bars.codes[np.maximum(prev, 0)] == bars.codes[rows]
    cont &= bars.c[np.maximum(prev, 0)] == bars.c[rows]
    run_id = np.cumsum(~cont) - 1
    run_len = np.bincount(run_id)
    in_long = run_len[run_id] >= min_run
    stale[rows[in_long]] = True
    example = np.zeros(len(bars.ts), dtype=np.int64)
    starts = rows[in_long & ~cont]
    example[starts] = bars.ts[starts]
    return stale, example


def _issues(
    bars: _Bars, check: str, mask: np.ndarray, example_ns: np.ndarray | None
) -> list[Issue]:
    """Issues of one check from a per-row mask (bool) or per-row counts (int).

    Examples are the first timestamps of flagged rows, or the non-zero ``example_ns`` values.
    """
    weights = mask.astype(np.int64)
    counts = np.bincount(bars.codes, weights=weights, minlength=bars.n_symbols)
    if not counts.any():
        return []
    if example_ns is None:
        ex_rows = np.flatnonzero(weights > 0)
        ex_values = bars.ts[ex_rows]
    else:
        ex_rows = np.flatnonzero(example_ns != 0)
        ex_values = example_ns[ex_rows]
    ex_codes = bars.codes[ex_rows]
    starts = np.searchsorted(ex_codes, np.arange(bars.n_symbols))
    issues = []
    for code in np.flatnonzero(counts):
        lo = starts[code]
        hi = min(lo + MAX_EXAMPLES, len(ex_codes))
        take = ex_values[lo:hi][ex_codes[lo:hi] == code]
        issues.append(
            Issue(str(bars.names[code]), check, int(counts[code]), tuple(bars.stamp(take)))
        )
    return issues
