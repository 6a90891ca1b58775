"""Engle–Granger cointegration test for two series (no dependency beyond numpy).

Step 1: OLS ``y = a + b x + e``. Step 2: augmented Dickey–Fuller regression on the residuals,
without a constant (the residuals have mean zero): ``de_t = g e_{t-1} + sum_i phi_i de_{t-i}``
with a fixed number of lags; the statistic is the t-value of ``g``. It is compared with the
MacKinnon (2010) response-surface critical values for two variables with a constant,
``c(T) = b0 + b1 / T + b2 / T**2``; the coefficients below are MacKinnon's Table 2
(N = 2, "c"), the same ones statsmodels uses in ``coint``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: (b0, b1, b2) of the MacKinnon (2010) critical values, N = 2 series, constant term.
MACKINNON_N2_C: dict[str, tuple[float, float, float]] = {
    "1%": (-3.89644, -10.9519, -33.527),
    "5%": (-3.33613, -6.1101, -6.823),
    "10%": (-3.04445, -4.2412, -2.72),
}


class EngleGranger(NamedTuple):
    """Result of :func:`engle_granger`."""

    stat: float
    alpha: float
    beta: float
    nobs: int


def critical_value(level: str, nobs: int) -> float:
    """MacKinnon (2010) Engle–Granger critical value for 2 series at ``level`` (1%, 5%, 10%)."""
    b0, b1, b2 = MACKINNON_N2_C[level]
    return b0 + b1 / nobs + b2 / nobs**2


def adf_stat(e: np.ndarray, lags: int) -> float:
    """t-statistic of ``g`` in ``de_t = g e_{t-1} + sum_{i<=lags} phi_i de_{t-i}`` (no constant)."""
    de = np.diff(e)
    n = len(de) - lags
    if n <= lags + 2:
        return float("nan")
    cols = [e[lags:-1]] + [de[lags - i : len(de) - i] for i in range(1, lags + 1)]
    xm = np.column_stack(cols)
    yv = de[lags:]
    coef, *_ = np.linalg.lstsq(xm, yv, rcond=None)
    resid = yv - xm @ coef
    dof = len(yv) - xm.shape[1]
    sigma2 = float(resid @ resid) / dof
    xtx_inv = np.linalg.inv(xm.T @ xm)
    se = np.sqrt(sigma2 * xtx_inv[0, 0])
    return float(coef[0] / se) if se > 0 else float("nan")


def engle_granger(y: np.ndarray, x: np.ndarray, lags: int = 1) -> EngleGranger:
    """Engle–Granger test of ``y`` on ``x``: more negative = stronger evidence of cointegration.

    Parameters
    ----------
    y, x : numpy.ndarray
        Equal-length 1-D series without NaN (log prices, typically).
    lags : int
        Lagged differences in the ADF regression.

    Returns
    -------
    EngleGranger
        ADF statistic of the residuals, OLS intercept and hedge ratio, observations used.
    """
    xm = np.column_stack([np.ones_like(x), x])
    (a, b), *_ = np.linalg.lstsq(xm, y, rcond=None)
    e = y - a - b * x
    return EngleGranger(adf_stat(e, lags), float(a), float(b), len(y))
