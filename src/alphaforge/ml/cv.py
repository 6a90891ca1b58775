"""Cross-validation that does not leak labels: purged k-fold with embargo, and walk-forward.

Samples are (bar, symbol) rows with a start bar ``t0`` (where the features are read) and an
end bar ``t1`` (the last bar the label looked at). Times are bar positions.

* :func:`purged_kfold` (AFML ch. 7): the distinct start bars are cut into ``k`` contiguous
  blocks; a block's rows are the test fold. A training row must end before the test fold
  starts (``t1 < min test t0``) or start after the test labels end plus the embargo
  (``t0 > max test t1 + embargo``); every other row is purged. All symbols of a bar fall in
  the same fold.
* :func:`walk_forward`: a model is retrained every ``every`` bars on the trailing
  ``train_bars`` bars; the model refitted at bar ``r`` learns only from labels already known
  at ``r`` (``t1 <= r``) and predicts the rows that start in ``[r, r + every)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alphaforge.core.errors import ConfigError


@dataclass(frozen=True)
class Fold:
    """Row positions of one split; ``start``/``stop`` bound the test rows' start bars."""

    train: np.ndarray
    test: np.ndarray
    start: int
    stop: int


def _check_rows(t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(t0, dtype=np.int64)
    b = np.asarray(t1, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError("cv: t0 and t1 must be one-dimensional and of equal length")
    if (b < a).any():
        raise ConfigError("cv: a label ends (t1) before it starts (t0)")
    return a, b


def purged_kfold(
    t0: np.ndarray,
    t1: np.ndarray,
    n_splits: int = 5,
    embargo: float = 0.01,
    min_samples: int = 50,
) -> list[Fold]:
    """Purged k-fold splits with embargo (AFML 7.4).

    Parameters
    ----------
    t0, t1
        Start and end bar of every row.
    n_splits
        Number of folds (>= 2).
    embargo
        Bars after each test fold's last label end that no training row may start in, as a
        fraction of the distinct start bars (AFML's ``pctEmbargo``), rounded up.
    min_samples
        A fold whose training or test part has fewer rows is refused.
    """
    a, b = _check_rows(t0, t1)
    if not isinstance(n_splits, int) or n_splits < 2:
        raise ConfigError(f"cv: folds: {n_splits!r} must be a whole number >= 2")
    if not 0 <= embargo < 1:
        raise ConfigError(f"cv: embargo: {embargo!r} must be in [0, 1)")
    times = np.unique(a)
    if len(times) < n_splits:
        raise ConfigError(f"cv: {len(times)} distinct bars cannot make {n_splits} folds")
    gap = math.ceil(embargo * len(times))
    folds = []
    for block in np.array_split(times, n_splits):
        lo, hi = int(block[0]), int(block[-1])
        test = np.flatnonzero((a >= lo) & (a <= hi))
        end = int(b[test].max())
        train = np.flatnonzero((b < lo) | (a > end + gap))
        folds.append(Fold(train, test, lo, hi + 1))
    _check_sizes(folds, min_samples)
    return folds


def _check_sizes(folds: list[Fold], min_samples: int) -> None:
    for i, f in enumerate(folds):
        small = min(len(f.train), len(f.test))
        if small < min_samples:
            part = "training" if len(f.train) < len(f.test) else "test"
            raise ConfigError(
                f"cv: fold {i + 1} has {small} {part} samples, fewer than min_samples "
                f"{min_samples}; use fewer folds, a shorter label horizon or more data"
            )


@dataclass(frozen=True)
class Schedule:
    """Walk-forward schedule: first refit at bar ``start``, then every ``every`` bars, each on
    the trailing ``train_bars`` bars (None: all bars so far)."""

    every: int
    train_bars: int | None
    start: int


def refit_bars(schedule: Schedule, n_bars: int) -> list[int]:
    """The bars at which the walk-forward refits (the first at ``schedule.start``)."""
    if schedule.every < 1:
        raise ConfigError(f"walk_forward: every: {schedule.every!r} must be >= 1")
    if schedule.train_bars is not None and schedule.train_bars < 2:
        raise ConfigError(f"walk_forward: train_bars: {schedule.train_bars!r} must be >= 2")
    if schedule.start >= n_bars:
        raise ConfigError(
            f"walk_forward: the first refit at bar {schedule.start} is past the data "
            f"({n_bars} bars); lower walk_forward.start or give more data"
        )
    return list(range(schedule.start, n_bars, schedule.every))


def walk_forward(
    t0: np.ndarray, t1: np.ndarray, schedule: Schedule, n_bars: int, min_samples: int = 50
) -> list[Fold]:
    """Walk-forward splits: for each refit bar ``r``, training rows have ``t1 <= r`` and
    ``t0 >= r - train_bars``; test rows start in ``[r, next refit)``. Refits with fewer than
    ``min_samples`` training rows are refused (move ``start`` later)."""
    a, b = _check_rows(t0, t1)
    bars = refit_bars(schedule, n_bars)
    folds = []
    for i, r in enumerate(bars):
        stop = bars[i + 1] if i + 1 < len(bars) else n_bars
        lo = -1 if schedule.train_bars is None else r - schedule.train_bars
        train = np.flatnonzero((b <= r) & (a >= lo))
        test = np.flatnonzero((a >= r) & (a < stop))
        if len(train) < min_samples:
            raise ConfigError(
                f"walk_forward: the refit at bar {r} has {len(train)} training samples, fewer "
                f"than min_samples {min_samples}; start later or train on more bars"
            )
        folds.append(Fold(train, test, r, stop))
    return folds
