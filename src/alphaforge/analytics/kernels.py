"""Numba kernels of the summary metrics: a few streaming passes over an equity curve.

:func:`~alphaforge.analytics.metrics.summary_metrics` runs after every backtest; on a curve of a
million bars its NumPy form makes some sixty passes over temporaries of the curve's length
(returns, drawdowns, deviations ...), which cost more than the simulation itself. These kernels
compute the same sums in three passes without temporaries beyond the return arrays.

Every element-wise value is computed with the same operations as the NumPy form (``e[i + 1] /
e[i] - 1``, ``e / running_max(e) - 1`` ...), so those are identical to the last bit; only sums
are taken in another order. Sums run in blocks of :data:`BLOCK` elements whose partial sums are
added at the end of each block, which keeps the rounding error near that of NumPy's pairwise
sum (the results agree to a few ulps).

The kernels assume positive finite equity (and benchmark); they report whether it was, and the
caller falls back to the NumPy form otherwise (which defines what zero, negative or NaN equity
gives).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache

configure_cache()

BLOCK = 512

# slots of equity_stats_nb's result
EQ_OK, EQ_SUM_EX, EQ_SUM_R, EQ_LOW2, EQ_LOW, EQ_GAIN = 0, 1, 2, 3, 4, 5
EQ_MDD, EQ_DD_RUN, EQ_DD2, EQ_SSD_EX, EQ_SSD_R, EQ_EX_FLAT, EQ_R_FLAT, EQ_SUM_E = range(6, 14)
N_EQ = 14
# slots of benchmark_stats_nb's result
BM_OK, BM_VAR_B, BM_BETA, BM_RESID, BM_SUM_A, BM_SSD_A, BM_A_FLAT, BM_DR2, BM_DB2, BM_DRDB = range(
    10
)
BM_SSD_EX = 10
N_BM = 11


@njit(cache=True)
def equity_stats_nb(e: np.ndarray, rf_bar: float, r: np.ndarray, ssd: bool = True) -> np.ndarray:
    """Return and drawdown sums of ``e`` (length ``n + 1``); ``r`` (length ``n``) receives the
    returns ``e[i + 1] / e[i] - 1``. Excess returns are ``r - rf_bar``.

    Result slots: ``EQ_*``. ``EQ_OK`` is 0 (and the rest unset) when an equity value is not a
    positive finite number. ``ssd=False`` leaves ``EQ_SSD_EX`` / ``EQ_SSD_R`` unset (for a
    caller that takes them from :func:`benchmark_stats_nb`'s pass over the returns).
    """
    out = np.zeros(N_EQ)
    n = r.shape[0]
    peak = e[0]
    if not (peak > 0.0 and peak < np.inf):
        return out
    mdd = 0.0  # e[0] / e[0] - 1
    run = 0
    longest = 0
    s_ex = s_r = low2 = low = gain = dd2 = 0.0
    s_e = e[0]
    ex_lo = ex_hi = r_lo = r_hi = 0.0
    for start in range(0, n, BLOCK):
        b_ex = b_r = b_low2 = b_low = b_gain = b_dd2 = b_e = 0.0
        for i in range(start, min(start + BLOCK, n)):
            v = e[i + 1]
            if not (v > 0.0 and v < np.inf):
                return out
            ri = v / e[i] - 1.0
            r[i] = ri
            x = ri - rf_bar
            if v > peak:
                peak = v
            dd = v / peak - 1.0
            if dd < 0.0:
                run += 1
                longest = max(longest, run)
                mdd = min(mdd, dd)
            else:
                run = 0
            b_dd2 += dd * dd
            b_e += v
            b_r += ri
            b_ex += x
            m = min(x, 0.0)
            b_low2 += m * m
            b_low += m
            b_gain += max(x, 0.0)
            if i == 0:
                ex_lo = ex_hi = x
                r_lo = r_hi = ri
            else:
                ex_lo, ex_hi = min(ex_lo, x), max(ex_hi, x)
                r_lo, r_hi = min(r_lo, ri), max(r_hi, ri)
        s_ex += b_ex
        s_r += b_r
        low2 += b_low2
        low += b_low
        gain += b_gain
        dd2 += b_dd2
        s_e += b_e
    out[EQ_OK] = 1.0
    out[EQ_SUM_EX], out[EQ_SUM_R], out[EQ_LOW2], out[EQ_LOW], out[EQ_GAIN] = (
        s_ex,
        s_r,
        low2,
        low,
        gain,
    )
    out[EQ_MDD], out[EQ_DD_RUN], out[EQ_DD2], out[EQ_SUM_E] = mdd, longest, dd2, s_e
    out[EQ_EX_FLAT] = 1.0 if ex_lo == ex_hi else 0.0
    out[EQ_R_FLAT] = 1.0 if r_lo == r_hi else 0.0
    if n > 1 and ssd:
        out[EQ_SSD_EX] = _sq_dev_nb(r, rf_bar, s_ex / n)
        out[EQ_SSD_R] = _sq_dev_nb(r, 0.0, s_r / n)
    return out


@njit(cache=True)
def _sq_dev_nb(r: np.ndarray, shift: float, mean: float) -> float:
    """Sum of ``((r - shift) - mean) ** 2`` (blocked)."""
    n = r.shape[0]
    total = 0.0
    for start in range(0, n, BLOCK):
        acc = 0.0
        for i in range(start, min(start + BLOCK, n)):
            d = (r[i] - shift) - mean
            acc += d * d
        total += acc
    return total


@njit(cache=True)
def benchmark_stats_nb(
    b: np.ndarray, r: np.ndarray, rf_bar: float, mean_ex: float, rb: np.ndarray
) -> np.ndarray:
    """Sums relating the returns ``r`` to those of the benchmark equity ``b`` (length
    ``len(r) + 1``), as :func:`~alphaforge.analytics.benchmark_metrics.benchmark_summary` takes
    them. Result slots: ``BM_*``; ``BM_OK`` is 0 when a benchmark value is not a positive
    finite number. ``BM_BETA`` is NaN when the benchmark variance is below 1e-30.

    The same pass gives the squared deviations :func:`equity_stats_nb` sums (``mean_ex``: the
    mean excess return, ``EQ_SUM_EX / n``) to the last bit: ``BM_SSD_EX`` is its
    ``EQ_SSD_EX`` and ``BM_DR2`` its ``EQ_SSD_R`` (the same values in the same blocks).
    ``rb`` (length ``len(r)``) receives the benchmark's returns."""
    out = np.zeros(N_BM)
    n = r.shape[0]
    if not (b[0] > 0.0 and b[0] < np.inf):
        return out
    s_b = s_a = s_r = 0.0
    a_lo = a_hi = 0.0
    for start in range(0, n, BLOCK):
        p_b = p_a = p_r = 0.0
        for i in range(start, min(start + BLOCK, n)):
            v = b[i + 1]
            if not (v > 0.0 and v < np.inf):
                return out
            x = v / b[i] - 1.0
            rb[i] = x
            a = r[i] - x
            p_b += x
            p_a += a
            p_r += r[i]
            if i == 0:
                a_lo = a_hi = a
            else:
                a_lo, a_hi = min(a_lo, a), max(a_hi, a)
        s_b += p_b
        s_a += p_a
        s_r += p_r
    mean_b, mean_r, mean_a = s_b / n, s_r / n, s_a / n
    db2 = dbr = dr2 = drdb = ssd_a = ssd_ex = 0.0
    for start in range(0, n, BLOCK):
        q_db2 = q_dbr = q_dr2 = q_drdb = q_a = q_ex = 0.0
        for i in range(start, min(start + BLOCK, n)):
            db = rb[i] - mean_b
            dr = r[i] - mean_r
            da = (r[i] - rb[i]) - mean_a
            dx = (r[i] - rf_bar) - mean_ex
            q_db2 += db * db
            q_dbr += db * r[i]
            q_dr2 += dr * dr
            q_drdb += dr * db
            q_a += da * da
            q_ex += dx * dx
        db2 += q_db2
        dbr += q_dbr
        dr2 += q_dr2
        drdb += q_drdb
        ssd_a += q_a
        ssd_ex += q_ex
    var_b = db2 / n
    beta = dbr / n / var_b if var_b >= 1e-30 else np.nan
    out[BM_OK], out[BM_VAR_B], out[BM_BETA] = 1.0, var_b, beta
    out[BM_SUM_A], out[BM_SSD_A], out[BM_A_FLAT] = s_a, ssd_a, 1.0 if a_lo == a_hi else 0.0
    out[BM_DR2], out[BM_DB2], out[BM_DRDB], out[BM_SSD_EX] = dr2, db2, drdb, ssd_ex
    if beta == beta:
        resid = 0.0
        for start in range(0, n, BLOCK):
            acc = 0.0
            for i in range(start, min(start + BLOCK, n)):
                acc += (r[i] - rf_bar) - beta * (rb[i] - rf_bar)
            resid += acc
        out[BM_RESID] = resid
    return out


@njit(cache=True)
def exposure_sums_nb(gross: np.ndarray, e: np.ndarray, notional: np.ndarray) -> np.ndarray:
    """``[bars with |gross| > 0, sum(|gross| / e), sum(|notional|)]``; an empty ``gross`` or
    ``notional`` leaves its slots at 0."""
    out = np.zeros(3)
    n_g, n_t = gross.shape[0], notional.shape[0]
    count = 0
    ratio = traded = 0.0
    for start in range(0, max(n_g, n_t), BLOCK):
        p_ratio = p_traded = 0.0
        for i in range(start, min(start + BLOCK, n_g)):
            g = abs(gross[i])
            if g > 0.0:
                count += 1
            p_ratio += g / e[i]
        for i in range(start, min(start + BLOCK, n_t)):
            p_traded += abs(notional[i])
        ratio += p_ratio
        traded += p_traded
    out[0], out[1], out[2] = count, ratio, traded
    return out


@njit(cache=True)
def notional_sum_nb(bars: np.ndarray, values: np.ndarray) -> float:
    """``sum(abs(notional))`` of the per-bar notional that ``np.add.at(zeros, bars, values)``
    builds, summed as :func:`exposure_sums_nb` sums it (per bar, in blocks of :data:`BLOCK`
    bars), without the per-bar array: the same number to the last bit. ``bars`` must be in
    non-decreasing order."""
    total = part = 0.0
    block = -1
    k = 0
    m = bars.shape[0]
    while k < m:
        bar = bars[k]
        v = 0.0
        while k < m and bars[k] == bar:
            v += values[k]
            k += 1
        if bar // BLOCK != block:  # a block without orders adds nothing to the total
            total += part
            part = 0.0
            block = bar // BLOCK
        part += abs(v)
    return total + part
