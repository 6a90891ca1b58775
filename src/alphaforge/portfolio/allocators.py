"""Portfolio allocators: weights from a window of past returns.

Every allocator takes a ``(T, n)`` array of one-bar returns without NaN and returns ``n`` long
weights that sum to 1 within ``[min_weight, max_weight]``:

- ``equal``: ``1 / n``;
- ``inverse_vol``: proportional to ``1 / std`` of each asset's returns;
- ``risk_parity``: equal risk contribution ``w_i (C w)_i`` (Spinu's convex form solved by
  cyclical coordinate descent, see :func:`risk_parity`);
- ``min_variance`` and ``max_sharpe``: mean-variance optimisation with the bounds as
  constraints (PyPortfolioOpt). ``max_sharpe`` returns the ``min_variance`` portfolio when no
  asset has a mean return above the risk-free rate (the tangency portfolio does not exist) or
  the solver reports failure, and says so with an :class:`AllocatorFallback` warning; any
  other error propagates;
- ``hrp``: hierarchical risk parity (López de Prado; PyPortfolioOpt ``HRPOpt``).

Bounds for ``equal``, ``inverse_vol``, ``risk_parity`` and ``hrp`` are imposed afterwards by
capping and redistributing the excess pro rata (:func:`apply_bounds`). ``max_weight`` below
``1 / n`` cannot be met and is raised to ``1 / n``.
:func:`rolling_weights` estimates on a trailing window at each rebalance bar using returns up to
that bar only. PyPortfolioOpt is the optional extra ``alphaforge[portfolio]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from alphaforge.core.errors import ConfigError

METHODS: tuple[str, ...] = (
    "equal",
    "inverse_vol",
    "risk_parity",
    "min_variance",
    "max_sharpe",
    "hrp",
)


class AllocatorFallback(UserWarning):
    """An allocator could not build its own portfolio and returned another method's.

    ``method`` is the allocator asked for, ``used`` the one whose weights were returned,
    ``reason`` why, and ``bars`` the rebalance bars concerned (empty for a single window).
    """

    def __init__(self, method: str, used: str, reason: str, bars: tuple[int, ...] = ()) -> None:
        where = ""
        if bars:
            shown = ", ".join(str(b) for b in bars[:10]) + (", ..." if len(bars) > 10 else "")
            where = f" at {len(bars)} rebalance bar(s) ({shown})"
        super().__init__(f"{method}: returned the {used} portfolio{where}: {reason}")
        self.method, self.used, self.reason, self.bars = method, used, reason, bars


def apply_bounds(w: np.ndarray, min_weight: float = 0.0, max_weight: float = 1.0) -> np.ndarray:
    """Normalise ``w`` to sum 1, then clip into the bounds and spread the excess pro rata.

    Parameters
    ----------
    w : numpy.ndarray
        Non-negative raw weights (at least one positive).
    min_weight, max_weight : float
        Bounds; ``max_weight`` is raised to ``1 / n`` and ``min_weight`` lowered to ``1 / n``
        when they cannot be met.

    Returns
    -------
    numpy.ndarray
        Weights summing to 1 inside the bounds.
    """
    n = len(w)
    hi, lo = max(max_weight, 1.0 / n), min(min_weight, 1.0 / n)
    out = np.clip(np.asarray(w, dtype=np.float64), 0.0, None)
    out = out / out.sum() if out.sum() > 0 else np.full(n, 1.0 / n)
    for _ in range(4 * n):
        clipped = np.clip(out, lo, hi)
        gap = 1.0 - clipped.sum()
        if abs(gap) < 1e-12:
            return clipped
        free = (clipped < hi) if gap > 0 else (clipped > lo)
        base = clipped[free].sum()
        if base <= 0:
            clipped[free] += gap / max(int(free.sum()), 1)
        else:
            clipped[free] += gap * clipped[free] / base
        out = clipped
    return np.clip(out, lo, hi)


def equal_weight(returns: np.ndarray) -> np.ndarray:
    """``1 / n`` for each of the ``n`` columns of ``returns``."""
    n = returns.shape[1]
    return np.full(n, 1.0 / n)


def inverse_volatility(returns: np.ndarray) -> np.ndarray:
    """Weights proportional to ``1 / std`` (sample std, ddof 1); zero-vol assets share equally."""
    sd = returns.std(axis=0, ddof=1)
    if np.any(sd <= 0):
        return apply_bounds((sd <= 0).astype(np.float64))
    inv = 1.0 / sd
    return np.asarray(inv / inv.sum(), dtype=np.float64)


def risk_parity(returns: np.ndarray, tol: float = 1e-10, max_sweeps: int = 500) -> np.ndarray:
    """Equal risk contribution weights from the sample covariance of ``returns``.

    Cyclical coordinate descent on Spinu's convex problem
    ``min 0.5 x'Cx - sum(log x_i) / n`` (Griveau-Billion, Richard and Roncalli, 2013): each
    coordinate has the closed form ``x_i = (-a + sqrt(a**2 + 4 C_ii / n)) / (2 C_ii)`` with
    ``a = sum_{j != i} C_ij x_j``; at the optimum ``x_i (Cx)_i = 1 / n`` for every ``i``, so the
    normalised ``x`` has equal risk contributions.
    """
    n = returns.shape[1]
    cov = np.cov(returns, rowvar=False, ddof=1).reshape(n, n)
    c = cov / (float(np.mean(np.diag(cov))) or 1.0)
    d = np.diag(c)
    if np.any(d <= 0):
        return inverse_volatility(returns)
    x = inverse_volatility(returns)
    for _ in range(max_sweeps):
        prev = x.copy()
        for i in range(n):
            a = float(c[i] @ x - d[i] * x[i])
            x[i] = (-a + np.sqrt(a * a + 4.0 * d[i] / n)) / (2.0 * d[i])
        if np.max(np.abs(x - prev)) < tol * np.max(np.abs(x)):
            break
    return x / x.sum()


def _pypfopt() -> object:
    try:
        import pypfopt
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "allocation methods min_variance, max_sharpe and hrp need PyPortfolioOpt: "
            "pip install 'alphaforge[portfolio]'"
        ) from None
    return pypfopt


def _frame(returns: np.ndarray) -> object:
    import pandas as pd

    return pd.DataFrame(returns, columns=[f"a{j}" for j in range(returns.shape[1])])


def min_variance(
    returns: np.ndarray, min_weight: float = 0.0, max_weight: float = 1.0
) -> np.ndarray:
    """Minimum-variance weights within the bounds (PyPortfolioOpt ``EfficientFrontier``)."""
    pf = _pypfopt()
    n = returns.shape[1]
    cov = pf.risk_models.fix_nonpositive_semidefinite(_frame(returns).cov(), fix_method="spectral")  # type: ignore[attr-defined]
    ef = pf.EfficientFrontier(None, cov, weight_bounds=_bounds(n, min_weight, max_weight))  # type: ignore[attr-defined]
    ef.min_volatility()
    return _cleaned(ef, n)


def _solver_failures() -> tuple[type[Exception], ...]:
    """What PyPortfolioOpt raises when the solver fails: its ``OptimizationError`` (a status
    other than optimal) and cvxpy's ``SolverError`` (the solver itself gave up)."""
    from cvxpy.error import SolverError
    from pypfopt.exceptions import OptimizationError

    return (OptimizationError, SolverError)


def _max_sharpe(
    returns: np.ndarray, min_weight: float, max_weight: float, risk_free: float
) -> tuple[np.ndarray, str | None]:
    """Tangency weights, or the minimum-variance weights and the reason they were used."""
    pf = _pypfopt()
    n = returns.shape[1]
    frame = _frame(returns)
    mu = frame.mean()  # type: ignore[attr-defined]
    if not (mu > risk_free).any():
        reason = "no asset's mean return exceeds the risk-free rate (no tangency portfolio)"
        return min_variance(returns, min_weight, max_weight), reason
    cov = pf.risk_models.fix_nonpositive_semidefinite(frame.cov(), fix_method="spectral")  # type: ignore[attr-defined]
    ef = pf.EfficientFrontier(mu, cov, weight_bounds=_bounds(n, min_weight, max_weight))  # type: ignore[attr-defined]
    try:
        ef.max_sharpe(risk_free_rate=risk_free)
    except _solver_failures() as exc:
        reason = f"the max_sharpe solver failed ({type(exc).__name__}: {exc})"
        return min_variance(returns, min_weight, max_weight), reason
    return _cleaned(ef, n), None


def max_sharpe(
    returns: np.ndarray, min_weight: float = 0.0, max_weight: float = 1.0, risk_free: float = 0.0
) -> np.ndarray:
    """Maximum-Sharpe (tangency) weights within the bounds; mean returns as expected returns.

    ``risk_free`` is per bar, like ``returns``. When no mean exceeds it (the tangency portfolio
    does not exist) or the solver reports failure, returns :func:`min_variance` and warns with
    an :class:`AllocatorFallback` giving the reason (turn it into an error with
    ``warnings.simplefilter("error", AllocatorFallback)``). Other exceptions propagate.
    """
    w, reason = _max_sharpe(returns, min_weight, max_weight, risk_free)
    if reason is not None:
        warnings.warn(AllocatorFallback("max_sharpe", "min_variance", reason), stacklevel=2)
    return w


def hrp(returns: np.ndarray) -> np.ndarray:
    """Hierarchical risk parity weights (PyPortfolioOpt ``HRPOpt``, single linkage)."""
    pf = _pypfopt()
    opt = pf.HRPOpt(_frame(returns))  # type: ignore[attr-defined]
    w = opt.optimize()
    return np.asarray([w[f"a{j}"] for j in range(returns.shape[1])], dtype=np.float64)


def _bounds(n: int, lo: float, hi: float) -> tuple[float, float]:
    return (min(lo, 1.0 / n), max(hi, 1.0 / n))


def _cleaned(ef: object, n: int) -> np.ndarray:
    raw = ef.clean_weights(cutoff=1e-6, rounding=None)  # type: ignore[attr-defined]
    w = np.clip(np.asarray([raw[f"a{j}"] for j in range(n)], dtype=np.float64), 0.0, None)
    return w / w.sum()


def _allocate(
    method: str, returns: np.ndarray, min_weight: float, max_weight: float
) -> tuple[np.ndarray, str | None]:
    """Weights of ``method`` and, when another portfolio had to stand in, the reason."""
    n = returns.shape[1]
    if n == 1:
        return np.ones(1), None
    reason = None
    if method == "min_variance":
        raw = min_variance(returns, min_weight, max_weight)
    elif method == "max_sharpe":
        raw, reason = _max_sharpe(returns, min_weight, max_weight, 0.0)
    else:
        simple: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "equal": equal_weight, "inverse_vol": inverse_volatility, "risk_parity": risk_parity,
            "hrp": hrp,
        }  # fmt: skip
        if method not in simple:
            raise ConfigError(
                f"unknown allocation method {method!r}; choose from {', '.join(METHODS)}"
            )
        raw = simple[method](returns)
    return apply_bounds(raw, min_weight, max_weight), reason


def allocate(
    method: str, returns: np.ndarray, *, min_weight: float = 0.0, max_weight: float = 1.0
) -> np.ndarray:
    """Weights of ``method`` (one of :data:`METHODS`) for a ``(T, n)`` return window.

    Parameters
    ----------
    method : str
        ``equal``, ``inverse_vol``, ``risk_parity``, ``min_variance``, ``max_sharpe`` or ``hrp``.
    returns : numpy.ndarray
        One-bar returns, no NaN.
    min_weight, max_weight : float
        Per-asset bounds.

    Returns
    -------
    numpy.ndarray
        ``n`` weights summing to 1 within the bounds.

    Warns
    -----
    AllocatorFallback
        ``max_sharpe`` returned the minimum-variance portfolio (see :func:`max_sharpe`).
    """
    w, reason = _allocate(method, returns, min_weight, max_weight)
    if reason is not None:
        warnings.warn(AllocatorFallback(method, "min_variance", reason), stacklevel=2)
    return w


def rolling_weights(
    method: str,
    close: np.ndarray,
    rows: np.ndarray,
    lookback: int,
    *,
    min_weight: float = 0.0,
    max_weight: float = 1.0,
) -> np.ndarray:
    """Target weights (bars x symbols) on the bars in ``rows``, NaN elsewhere.

    At a rebalance bar ``t`` the returns of bars ``t - lookback + 1 .. t`` are used (they need
    closes ``t - lookback .. t``): nothing after ``t``. Symbols without a complete window get
    weight 0; a bar where no symbol has one gets 0 everywhere. When ``max_sharpe`` had to use
    the minimum-variance portfolio, one :class:`AllocatorFallback` warning lists the bars.
    """
    w = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = close[1:] / close[:-1] - 1.0
    fell_back: dict[str, list[int]] = {}
    for t in np.flatnonzero(rows):
        w[t] = 0.0
        if t < lookback:
            continue
        window = rets[t - lookback : t]
        ok = np.flatnonzero(np.isfinite(window).all(axis=0))
        if len(ok):
            w[t, ok], reason = _allocate(method, window[:, ok], min_weight, max_weight)
            if reason is not None:
                fell_back.setdefault(reason, []).append(int(t))
    for reason, bars in fell_back.items():
        warnings.warn(AllocatorFallback(method, "min_variance", reason, tuple(bars)), stacklevel=2)
    return w
