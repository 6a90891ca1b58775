"""Look-ahead and warm-up sensitivity detector.

Look-ahead: the strategy is run on the full panel and on copies truncated after many cut bars.
A causal strategy gives, at every bar ``<= cut``, exactly the signal it gives on the full data;
any difference (entries, exits, short signals, stop/target/limit/stop levels, priority, target
weights, rebalance mask) means a value at bar ``t`` used data after ``t``.

Warm-up sensitivity: the strategy is also run on data that starts later (offsets of about
half, one and two declared warm-ups). After the declared warm-up the signals must no longer
depend on how much history came before. Recursive indicators (EMA, Wilder's RSI/ATR/ADX) never
forget their seed completely, so the comparison starts ``settle`` warm-ups after each start
(default 2) and float levels are compared with a relative tolerance (``rtol``, default 1e-6):
a strategy whose EMA(n) warm-up is declared as ``5 n`` has a seed weight of about ``exp(-20)``
left there. Booleans derived from two floating-point averages that are exactly equal (a tie)
can flip with the rounding of a different starting point; the warm-up check therefore tolerates
isolated differences in a field, at most ``noise`` of its compared values (default 1 in 10,000,
at least 2), and lists them in the notes. The look-ahead check compares identical computations
on identical prefixes and tolerates nothing. Whole-series normalisations (z-scores over all bars, ranks over the full history)
differ everywhere and are caught by both checks.

Example
-------
>>> report = check_lookahead("sma_cross", panel, cuts=30)
>>> report.ok, report.to_frame()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import StrategyError
from alphaforge.core.panel import FIELDS, Panel
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights
from alphaforge.strategy.registry import make_strategy

SIGNAL_FIELDS: tuple[str, ...] = (
    "entries", "exits", "short_entries", "short_exits", "stop_loss", "take_profit",
    "limit_price", "stop_price", "priority", "score",
)  # fmt: skip
WEIGHT_FIELDS: tuple[str, ...] = ("weights", "rebalance", "priority")


@dataclass(frozen=True)
class LookaheadIssue:
    """One signal value that differs between the full run and a truncated/later-start run."""

    check: str  # "lookahead" or "warmup"
    symbol: str
    time: pd.Timestamp
    field: str
    full: Any
    other: Any
    at: pd.Timestamp  # last bar of the truncated data, or first bar of the later-start data


@dataclass
class LookaheadReport:
    """Result of :func:`check_lookahead`; ``ok`` is True when no issue was found."""

    strategy: str
    params: dict[str, Any]
    warmup: int
    cuts: list[pd.Timestamp] = field(default_factory=list)
    starts: list[pd.Timestamp] = field(default_factory=list)
    compared: int = 0
    issues: list[LookaheadIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_frame(self) -> pd.DataFrame:
        """Issues as a table (check, symbol, time, field, full, other, at)."""
        cols = ["check", "symbol", "time", "field", "full", "other", "at"]
        return pd.DataFrame([[getattr(i, c) for c in cols] for i in self.issues], columns=cols)

    def summary(self) -> str:
        """One line: strategy, params, cuts/starts checked and the verdict."""
        verdict = "no look-ahead found" if self.ok else f"{len(self.issues)} differing value(s)"
        return (
            f"{self.strategy} {self.params}: {len(self.cuts)} cut(s), {len(self.starts)} later "
            f"start(s), {self.compared:,} values compared, warm-up {self.warmup}: {verdict}"
        )


def signal_arrays(out: Signals | TargetWeights, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The non-empty outputs of a strategy as 2-D arrays keyed by field name."""
    names = SIGNAL_FIELDS if isinstance(out, Signals) else WEIGHT_FIELDS
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        value = getattr(out, name)
        if value is None:
            continue
        arr = np.asarray(value)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.shape[0] != shape[0]:
            raise StrategyError(
                f"strategy output {name!r} has {arr.shape[0]} rows, expected {shape[0]}"
            )
        arrays[name] = arr
    return arrays


def rows(panel: Panel, start: int, stop: int) -> Panel:
    """Bars ``start .. stop - 1`` of ``panel`` (positions, not times)."""
    return Panel(
        index=panel.index[start:stop],
        symbols=panel.symbols,
        timeframe=panel.timeframe,
        meta=dict(panel.meta),
        **{f: np.ascontiguousarray(getattr(panel, f)[start:stop]) for f in FIELDS},
    )


def _run(strategy: Strategy[Any], panel: Panel) -> dict[str, np.ndarray]:
    out = strategy.signals(StrategyData(panel))
    if not isinstance(out, Signals | TargetWeights):
        raise StrategyError(f"{strategy.name}: signals() must return Signals or TargetWeights")
    return signal_arrays(out, panel.shape)


def _differs(a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    if a.dtype == bool or b.dtype == bool:
        return np.asarray(a.astype(bool) != b.astype(bool))
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    return ~np.isclose(fa, fb, rtol=rtol, atol=1e-12, equal_nan=True)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class _Collector:
    report: LookaheadReport
    panel: Panel
    max_issues: int
    seen: set[tuple[str, str, int, str]] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def compare(
        self, full: dict[str, np.ndarray], other: dict[str, np.ndarray], lo: int, shift: int,
        check: str, at: int, rtol: float, noise: float = 0.0,
    ) -> None:  # fmt: skip
        """Compare full rows ``lo ..`` with other rows ``lo - shift ..`` (aligned bars)."""
        for name in sorted(set(full) | set(other)):
            if name not in full or name not in other:
                self._add(check, "*", lo, name, name in full, name in other, at)
                continue
            a = full[name][lo : shift + len(other[name])]
            b = other[name][lo - shift :]
            self.report.compared += a.size
            bad = _differs(a, b, rtol)
            count = int(bad.sum())
            if count and noise > 0 and count <= max(2.0, noise * a.size):
                self.report.notes.append(
                    f"{check} from {self.panel.index[at]:%Y-%m-%d %H:%M}: {count} isolated "
                    f"{name} difference(s) tolerated as rounding noise"
                )
                continue
            for r, c in zip(*np.nonzero(bad), strict=True):
                sym = self.panel.symbols[c] if a.shape[1] == len(self.panel.symbols) else "*"
                self._add(check, sym, lo + int(r), name, a[r, c], b[r, c], at)
                if self.counts.get(check, 0) >= self.max_issues:
                    return

    def _add(self, check: str, sym: str, t: int, name: str, a: Any, b: Any, at: int) -> None:
        key = (check, sym, t, name)
        if key in self.seen or self.counts.get(check, 0) >= self.max_issues:
            return
        self.seen.add(key)
        self.counts[check] = self.counts.get(check, 0) + 1
        self.report.issues.append(
            LookaheadIssue(check, sym, self.panel.index[t], name, _plain(a), _plain(b),
                           self.panel.index[at])
        )  # fmt: skip


def check_lookahead(
    strategy: str | Strategy[Any] | type[Strategy[Any]],
    panel: Panel,
    *,
    params: dict[str, Any] | None = None,
    cuts: int = 30,
    starts: int = 3,
    settle: float = 2.0,
    warmup: int | None = None,
    rtol: float = 1e-6,
    noise: float = 1e-4,
    max_issues: int = 200,
) -> LookaheadReport:
    """Detect look-ahead bias and warm-up sensitivity of a strategy on ``panel``.

    Parameters
    ----------
    strategy : str, Strategy or Strategy subclass
        Built-in name, ``path/file.py:ClassName``, class or instance.
    panel : Panel
        The data (all symbols are passed to the strategy together).
    params : dict, optional
        Strategy parameters.
    cuts : int
        Number of truncation points, spread evenly from just after the warm-up to the end.
    starts : int
        Number of later starts for the warm-up check (0 to skip it).
    settle : float
        The warm-up check compares bars ``settle * warmup`` after each later start.
    warmup : int, optional
        Override of the strategy's declared warm-up (bars).
    rtol : float
        Warm-up check: relative tolerance of float outputs (levels, weights).
    noise : float
        Warm-up check: largest share of differing values in a field that is still taken as
        rounding noise (at least 2 values); see the module docstring.
    max_issues : int
        Stop collecting after this many differing values per check.

    Returns
    -------
    LookaheadReport
    """
    strat = make_strategy(strategy, params)
    n = panel.shape[0]
    if n < 3:
        raise StrategyError(f"look-ahead check needs at least 3 bars, got {n}")
    w = strat.warmup() if warmup is None else int(warmup)
    report = LookaheadReport(strat.name or type(strat).__name__,
                             strat.params.model_dump(mode="json"), w)  # fmt: skip
    col = _Collector(report, panel, max_issues)
    full = _run(strat, panel)
    lo = min(w + 1, n // 2)
    for cut in np.unique(np.linspace(lo, n - 2, max(cuts, 1)).round().astype(int)):
        report.cuts.append(panel.index[cut])
        col.compare(full, _run(strat, rows(panel, 0, cut + 1)), 0, 0, "lookahead", int(cut), 0.0)
    step = max(w, 20)
    skip = int(np.ceil(settle * w))
    for k in range(1, starts + 1):
        o = round(step * k / 2)
        if o + skip >= n - 1:
            report.notes.append(f"warm-up check: start offset {o} + {skip} bars exceeds the data")
            break
        report.starts.append(panel.index[o])
        col.compare(full, _run(strat, rows(panel, o, n)), o + skip, o, "warmup", o, rtol, noise)
    return report
