"""The practical limit of an SMA-crossover sweep: a plain Numba loop with the shared fill rules.

No configuration, no records, no risk rules: the crossover is read from precomputed moving
averages, fills happen at the next open all-in with whole shares and a percentage commission,
and the loop keeps only what the same metrics need (final equity, trade count, wins, Sharpe
sums, max drawdown). The alphaforge sweep is measured against this loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _one_nb(
    open_: np.ndarray,
    close: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    cash0: float,
    comm: float,
    out: np.ndarray,
) -> None:
    cash = cash0
    qty = 0.0
    entry_cost = 0.0
    pend = 0  # +1 buy at next open, -1 sell at next open
    trades = 0
    wins = 0
    prev_eq = cash0
    s = 0.0
    s2 = 0.0
    peak = cash0
    mdd = 0.0
    n = close.shape[0]
    for t in range(n):
        o = open_[t]
        if pend == 1 and qty == 0.0:
            q = math.floor(cash / (o * (1.0 + comm)) + 1e-9)
            if q > 0.0:
                cost = q * o
                fee = cost * comm
                cash -= cost + fee
                qty = q
                entry_cost = cost + fee
        elif pend == -1 and qty > 0.0:
            value = qty * o
            fee = value * comm
            cash += value - fee
            trades += 1
            wins += value - fee > entry_cost
            qty = 0.0
        pend = 0
        eq = cash + qty * close[t]
        if t > 0:
            r = eq / prev_eq - 1.0
            s += r
            s2 += r * r
        prev_eq = eq
        peak = max(peak, eq)
        mdd = min(mdd, eq / peak - 1.0)
        if t > 0:
            up = fast[t] > slow[t] and fast[t - 1] < slow[t - 1]
            down = slow[t] > fast[t] and slow[t - 1] < fast[t - 1]
            if up and not down:
                pend = 1
            elif down and not up:
                pend = -1
    if qty > 0.0:
        trades += 1
        wins += qty * close[n - 1] > entry_cost
    m = n - 1
    mean = s / m
    var = (s2 - m * mean * mean) / (m - 1)
    out[0] = prev_eq
    out[1] = trades
    out[2] = wins / trades if trades else np.nan
    out[3] = mean / math.sqrt(var) * math.sqrt(252.0) if var > 0 else np.nan
    out[4] = mdd


@njit(cache=True, parallel=True)
def plain_sweep_nb(
    open_t: np.ndarray,
    close_t: np.ndarray,
    ma_t: np.ndarray,
    pairs: np.ndarray,
    cash0: float,
    comm: float,
) -> np.ndarray:
    """Every (pair, symbol): prices ``(symbols, bars)``, MAs ``(symbols, windows, bars)``.

    ``pairs`` is ``(K, 2)`` indices into the window axis (fast, slow). Returns
    ``(K, symbols, 5)``: final equity, trades, win rate, Sharpe, max drawdown.
    """
    n_k = pairs.shape[0]
    n_sym = open_t.shape[0]
    out = np.empty((n_k, n_sym, 5))
    for ii in prange(n_k * n_sym):
        k = ii // n_sym
        j = ii - k * n_sym
        _one_nb(
            open_t[j],
            close_t[j],
            ma_t[j, pairs[k, 0]],
            ma_t[j, pairs[k, 1]],
            cash0,
            comm,
            out[k, j],
        )
    return out
