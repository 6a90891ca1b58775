"""The trial tables of :func:`alphaforge.api.sweeps.sweep`, assembled with numpy.

The table of the batched kernel's ``(trials, symbols, metrics)`` array (:func:`batch_table`),
the column order of the workers' table (:func:`finish_table`), the plateau value of each trial
(:func:`plateau_of`) and the long table of one row per trial and symbol (:func:`long_rows`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.optimize import analysis
from alphaforge.optimize.worker import METRIC_COLUMNS

_EXTRA = ("objective_mean", "share_positive", "n_symbols")


def batch_table(
    ids: np.ndarray,
    sets: list[dict[str, Any]],
    names: list[str],
    metrics: np.ndarray,
    metric_names: Sequence[str],
    objective: str,
    rules: Sequence[analysis.Constraint],
    per_symbol: bool,
) -> pd.DataFrame:
    """The trial table of a ``(trials, symbols, metrics)`` array: what
    :func:`alphaforge.optimize.analysis.trial_table` makes of the same rows (medians across
    symbols, ``objective_mean``, ``share_positive``, ``n_symbols``), built column by column in
    numpy and turned into a DataFrame once."""
    where = {m: i for i, m in enumerate(metric_names)}
    cols: dict[str, Any] = {"trial_id": ids}
    for p in names:
        cols[p] = _column([s.get(p) for s in sets])
    obj = metrics[:, :, where[objective]]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a trial with an all-NaN metric
        for m in METRIC_COLUMNS:
            if m in where:
                v = metrics[:, :, where[m]]
                cols[m] = v[:, 0] if v.shape[1] == 1 else np.nanmedian(v, axis=1)
        if per_symbol:
            cols["objective_mean"] = np.nanmean(obj, axis=1)
            cols["share_positive"] = (obj > 0).mean(axis=1)
    cols["n_symbols"] = (~np.isnan(obj)).sum(axis=1) if per_symbol else np.ones(len(ids), int)
    cols["objective"] = np.asarray(cols[objective], dtype=float)
    ok = np.ones(len(ids), dtype=bool)
    for c in rules:
        ok &= c.mask_values(cols[c.metric])
    cols["feasible"] = ok
    cols["plateau"] = plateau_of([cols[p] for p in names], cols["objective"])
    return pd.DataFrame(cols)


def _column(values: list[Any]) -> np.ndarray:
    arr = np.asarray(values)
    return arr if arr.dtype.kind in "biuf" else np.asarray(values, dtype=object)


def finish_table(table: pd.DataFrame, names: list[str], metrics: list[str]) -> pd.DataFrame:
    """Plateau values and the column order of :func:`batch_table`; an ``error`` column last
    when a trial's run failed (its first error; it has no metrics)."""
    table = table.reset_index(drop=True)
    table["plateau"] = plateau_of([table[p].to_numpy() for p in names],
                                  table["objective"].to_numpy(dtype=float))  # fmt: skip
    order = ["trial_id", *names, *metrics, *(c for c in _EXTRA if c in table), "objective",
             "feasible", "plateau"]  # fmt: skip
    if analysis.failed_rows(table).any():
        order.append("error")
    return table[order]


def plateau_of(params: Sequence[np.ndarray], values: np.ndarray) -> np.ndarray:
    """:func:`alphaforge.optimize.analysis.plateau` (mean of ``values`` over each trial's grid
    neighbours: at most one step away in the sorted distinct values of every parameter; NaN
    left out) in blocks of array operations instead of a loop over trials."""
    n = len(values)
    if n == 0:
        return np.zeros(0)
    codes = [_ranks(v) for v in params]
    ok = ~np.isnan(values)
    filled = np.where(ok, values, 0.0)
    weight = ok.astype(float)
    out = np.empty(n)
    step = max(1, 4_000_000 // n)  # bounds the (rows, n) block
    for lo in range(0, n, step):
        near = np.ones((min(step, n - lo), n), dtype=bool)
        for c in codes:
            near &= np.abs(c[lo : lo + step, None] - c[None, :]) <= 1
        total, count = near @ filled, near @ weight
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + step] = np.where(count > 0, total / count, np.nan)
    return out


def _ranks(values: np.ndarray) -> np.ndarray:
    """The rank of each value among the sorted distinct values (text when not numeric)."""
    arr = np.asarray(values)
    if arr.dtype == object:
        arr = arr.astype(str)
    _distinct, codes = np.unique(arr, return_inverse=True)
    return codes.reshape(-1).astype(np.int32)


def long_rows(
    ids: np.ndarray,
    sets: list[dict[str, Any]],
    names: list[str],
    symbols: np.ndarray,
    metrics: np.ndarray,
    metric_names: Sequence[str],
) -> pd.DataFrame:
    k, s = metrics.shape[:2]
    data: dict[str, Any] = {"trial_id": np.repeat(ids, s), "symbol": np.tile(symbols, k)}
    for p in names:
        data[p] = np.repeat(np.asarray([x.get(p) for x in sets], dtype=object), s)
    cols = [m for m in METRIC_COLUMNS if m in metric_names]
    for m in cols:
        data[m] = metrics[:, :, list(metric_names).index(m)].reshape(-1)
    return pd.DataFrame(data)
