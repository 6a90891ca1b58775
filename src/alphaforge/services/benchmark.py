"""A benchmark symbol outside the traded set (``benchmark: SPY`` / ``--benchmark SPY``).

Its bars come from the run's data file when that file holds the symbol, else from the local
store, over the traded bars' period, timeframe and ``adjust`` choice. The benchmark curve is its
buy and hold without costs, as for a traded benchmark symbol: ``cash * close / first close``,
each traded bar taking the benchmark's last close at or before it (flat at ``cash`` until the
benchmark's first bar).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import DataError, UnknownSymbolError
from alphaforge.core.panel import Panel


def benchmark_panel(spec: Any, settings: Any, panel: Panel) -> tuple[Panel, str]:
    """Bars of ``spec.benchmark`` over ``panel``'s period and where they came from."""
    from alphaforge.services.backtest import load_data_file
    from alphaforge.services.store import load_panel, open_store

    symbol = str(spec.benchmark)
    tf = panel.timeframe
    if spec.data:
        try:
            return load_data_file(spec.data, [symbol], tf, spec.adjust), str(spec.data)
        except DataError:
            pass  # not in the file: the store may have it
    start, end = panel.index[0], panel.index[-1] + pd.Timedelta(days=1)
    try:
        bars = load_panel(open_store(settings), [symbol], tf, start, end, spec.adjust)
    except (UnknownSymbolError, DataError) as exc:
        where = f"{spec.data} or the local store" if spec.data else "the local store"
        kind = UnknownSymbolError if isinstance(exc, UnknownSymbolError) else DataError
        raise kind(
            f"benchmark: {symbol}: no {tf} bars in {where} for "
            f"{panel.index[0]:%Y-%m-%d} to {panel.index[-1]:%Y-%m-%d} ({exc})"
        ) from None
    return bars, "store"


@dataclass(frozen=True)
class ExternalBenchmark:
    """The curve of a benchmark symbol the run does not trade, where its bars came from and
    what the user must know about it (bars missing at either end of the period)."""

    values: np.ndarray
    source: str
    notes: list[str]


def _closes(bench: Panel) -> pd.Series:
    close = pd.Series(bench.close[:, 0], index=bench.index).dropna()
    return close[~close.index.duplicated(keep="last")]


def coverage_notes(bench: Panel, index: pd.DatetimeIndex) -> list[str]:
    """Warnings when the benchmark's bars start after the first traded bar or end before the
    last one (its curve is flat there)."""
    close = _closes(bench)
    sym = bench.symbols[0]
    notes = []
    if len(close) and close.index[0] > index[0]:
        notes.append(
            f"benchmark {sym}: its bars start {close.index[0]:%Y-%m-%d}, after the first traded "
            f"bar {index[0]:%Y-%m-%d}; its curve is flat at the starting cash until then"
        )
    if len(close) and close.index[-1] < index[-1]:
        notes.append(
            f"benchmark {sym}: its bars end {close.index[-1]:%Y-%m-%d}, before the last traded "
            f"bar {index[-1]:%Y-%m-%d}; its curve is flat after that"
        )
    return notes


def benchmark_values(bench: Panel, index: pd.DatetimeIndex, cash: float) -> np.ndarray:
    """Buy and hold of ``bench``'s only symbol on the traded bars ``index``."""
    close = _closes(bench)
    aligned = close.reindex(close.index.union(index)).ffill().reindex(index).to_numpy()
    seen = np.flatnonzero(np.isfinite(aligned))
    if seen.size == 0:
        raise DataError(
            f"benchmark: {bench.symbols[0]}: no bars at or before "
            f"{index[-1]:%Y-%m-%d} (its data starts {close.index[0]:%Y-%m-%d})"
            if len(close)
            else f"benchmark: {bench.symbols[0]}: no bars with a close"
        )
    rel = aligned / aligned[seen[0]]
    return np.asarray(cash * np.where(np.isnan(rel), 1.0, rel), dtype=np.float64)


def external_benchmark(spec: Any, settings: Any, panel: Panel) -> ExternalBenchmark | None:
    """The benchmark of ``spec`` when it names a symbol the run does not trade; None when the
    benchmark is unset or one of the traded symbols."""
    if not spec.benchmark or spec.benchmark in panel.symbols:
        return None
    bench, source = benchmark_panel(spec, settings, panel)
    values = benchmark_values(bench, panel.index, float(spec.cash))
    return ExternalBenchmark(values, source, coverage_notes(bench, panel.index))
