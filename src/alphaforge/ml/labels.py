"""Labels for supervised learning on bars, with their end times for purging.

A label at bar ``t`` looks at bars *after* ``t`` (that is what it predicts), so it may only be
used to train a model whose training ends after the label's end bar ``t1`` (see
:mod:`alphaforge.ml.cv`). Every label kind returns :class:`Labels`: a (bars x symbols) value
array (NaN where there is no label), the end bar ``t1`` of each label (-1 where none) and the
signed return it realised.

* :func:`fixed_horizon`: the return over the next ``horizon`` bars, or its sign.
* :func:`triple_barrier`: López de Prado, *Advances in Financial Machine Learning* (AFML)
  ch. 3: an upper and a lower barrier at ``±k sigma_t`` (``sigma_t`` the trailing volatility
  of one-bar returns known at ``t``) and a vertical barrier ``horizon`` bars ahead; the label
  is 1 when the return at the first touch is positive, else 0.
* :func:`meta_labels`: AFML 3.6: on the bars where a primary strategy enters (long or
  short), 1 when that bet, held to the triple barrier, made money, else 0.
* :func:`uniqueness_weights`: AFML ch. 4: a label's weight is its average uniqueness, the
  mean over the bars it spans of one over the number of labels (of the same symbol) that
  span each bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError


@dataclass(frozen=True)
class Labels:
    """``values[t, s]``: the label of symbol ``s`` at bar ``t`` (NaN: none); ``t1[t, s]``:
    the last bar it looked at (-1: none); ``returns[t, s]``: the return it realised."""

    values: np.ndarray
    t1: np.ndarray
    returns: np.ndarray
    kind: str


def check_horizon(horizon: int, n_bars: int) -> None:
    """Refuse a horizon that is not a whole number >= 1, or not shorter than the data."""
    if not isinstance(horizon, int | np.integer) or isinstance(horizon, bool) or horizon < 1:
        raise ConfigError(f"label: horizon: {horizon!r} is not a whole number of bars >= 1")
    if horizon >= n_bars:
        raise ConfigError(
            f"label: horizon: {horizon} bars is longer than the data ({n_bars} bars); "
            "give a shorter horizon or more data"
        )


def _2d(close: np.ndarray) -> np.ndarray:
    c = np.asarray(close, dtype=np.float64)
    return c.reshape(-1, 1) if c.ndim == 1 else c


def fixed_horizon(
    close: np.ndarray, horizon: int, kind: str = "sign", threshold: float = 0.0
) -> Labels:
    """Return from bar ``t`` to bar ``t + horizon`` (``close[t+h] / close[t] - 1``).

    ``kind="sign"``: 1 when that return is above ``threshold``, else 0; ``kind="return"``:
    the return itself. The last ``horizon`` bars have no label.
    """
    c = _2d(close)
    n = c.shape[0]
    check_horizon(horizon, n)
    if kind not in ("sign", "return"):
        raise ConfigError(f"label: kind: {kind!r}; expected sign or return")
    ret = np.full(c.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret[: n - horizon] = c[horizon:] / c[: n - horizon] - 1.0
    ret[~np.isfinite(ret)] = np.nan
    known = ~np.isnan(ret)
    values = ret.copy() if kind == "return" else np.where(known, (ret > threshold) * 1.0, np.nan)
    t1 = np.where(known, np.arange(n)[:, None] + horizon, -1)
    return Labels(values, t1.astype(np.int64), ret, f"fixed_{kind}")


def trailing_volatility(close: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation of the last ``window`` one-bar simple returns (causal)."""
    c = _2d(close)
    r = np.full(c.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = c[1:] / c[:-1] - 1.0
    r[~np.isfinite(r)] = np.nan
    return pd.DataFrame(r).rolling(window, min_periods=window).std().to_numpy()


@dataclass(frozen=True)
class BarrierSpec:
    """Triple-barrier settings: vertical barrier ``horizon`` bars ahead, horizontal barriers
    at ``upper`` and ``lower`` times the trailing ``vol_window``-bar volatility (0: none)."""

    horizon: int = 10
    upper: float = 2.0
    lower: float = 2.0
    vol_window: int = 20


def triple_barrier(
    close: np.ndarray,
    spec: BarrierSpec,
    events: np.ndarray | None = None,
    side: np.ndarray | None = None,
) -> Labels:
    """Triple-barrier labels (AFML 3.4) on every bar, or on the bars of ``events``.

    For each event bar ``t`` with ``sigma_t`` the trailing volatility, the path
    ``close[t+k] / close[t] - 1`` (times ``side``: +1 long, -1 short) for ``k = 1..horizon``
    is scanned for the first ``k`` with return ``>= upper * sigma_t`` or ``<= -lower *
    sigma_t``; without a touch the vertical barrier ``t + horizon`` ends the label. The label
    is 1 when the (side-adjusted) return at the end is positive, else 0; ``t1`` is the end bar.
    A path that runs past the data has no label.
    """
    c = _2d(close)
    n, m = c.shape
    check_horizon(spec.horizon, n)
    if spec.upper < 0 or spec.lower < 0:
        raise ConfigError("label: upper and lower barrier multipliers must be >= 0")
    h = spec.horizon
    sigma = trailing_volatility(c, spec.vol_window)
    sgn = np.ones((n, m)) if side is None else _2d(side).astype(np.float64)
    ev = np.ones((n, m), dtype=bool) if events is None else _2d(events).astype(bool)
    ev &= np.isfinite(sigma) & (sigma > 0) & np.isfinite(c)
    ev[n - h :] = False
    end_k = np.full((n, m), h, dtype=np.int64)
    done = np.zeros((n, m), dtype=bool)
    base = c[: n - h]
    for k in range(1, h + 1):
        with np.errstate(divide="ignore", invalid="ignore"):
            rk = sgn[: n - h] * (c[k : n - h + k] / base - 1.0)
        up = (spec.upper > 0) & (rk >= spec.upper * sigma[: n - h])
        dn = (spec.lower > 0) & (rk <= -spec.lower * sigma[: n - h])
        hit = (up | dn) & ~done[: n - h]
        end_k[: n - h][hit] = k
        done[: n - h] |= hit
    rows = np.arange(n)[:, None]
    t1 = np.where(ev, rows + end_k, -1)
    ret = np.full((n, m), np.nan)
    cols = np.broadcast_to(np.arange(m), (n, m))
    safe_t1 = np.clip(t1, 0, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        path_end = sgn * (c[safe_t1, cols] / c - 1.0)
    ret[ev] = path_end[ev]
    ok = ev & np.isfinite(ret)
    values = np.where(ok, (ret > 0) * 1.0, np.nan)
    return Labels(values, np.where(ok, t1, -1).astype(np.int64), np.where(ok, ret, np.nan),
                  "triple_barrier")  # fmt: skip


def meta_labels(
    close: np.ndarray,
    entries: np.ndarray,
    spec: BarrierSpec,
    short_entries: np.ndarray | None = None,
) -> Labels:
    """Meta-labels (AFML 3.6) on a primary strategy's entries: 1 where the primary bet (long
    at ``entries``, short at ``short_entries``), held to the triple barrier, made money."""
    long_ = _2d(entries).astype(bool)
    short = np.zeros_like(long_) if short_entries is None else _2d(short_entries).astype(bool)
    side = np.where(short & ~long_, -1.0, 1.0)
    out = triple_barrier(close, spec, events=long_ | short, side=side)
    return Labels(out.values, out.t1, out.returns, "meta")


def uniqueness_weights(
    t0: np.ndarray, t1: np.ndarray, groups: np.ndarray | None = None
) -> np.ndarray:
    """Average uniqueness of each label (AFML 4.4), per group (symbol).

    Label ``i`` spans bars ``t0[i] .. t1[i]`` (inclusive); ``c_t`` counts the labels of its
    group spanning bar ``t``; its weight is the mean of ``1 / c_t`` over its span.
    """
    t0 = np.asarray(t0, dtype=np.int64)
    t1 = np.asarray(t1, dtype=np.int64)
    g = np.zeros(len(t0), dtype=np.int64) if groups is None else np.asarray(groups)
    out = np.empty(len(t0))
    for key in np.unique(g):
        sel = np.flatnonzero(g == key)
        lo, hi = int(t0[sel].min()), int(t1[sel].max())
        diff = np.zeros(hi - lo + 2)
        np.add.at(diff, t0[sel] - lo, 1.0)
        np.add.at(diff, t1[sel] - lo + 1, -1.0)
        inv = 1.0 / np.maximum(np.cumsum(diff)[:-1], 1.0)
        csum = np.r_[0.0, np.cumsum(inv)]
        out[sel] = (csum[t1[sel] - lo + 1] - csum[t0[sel] - lo]) / (t1[sel] - t0[sel] + 1)
    return out
