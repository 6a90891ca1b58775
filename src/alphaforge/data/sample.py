"""SYNTHETIC sample market: seeded, offline bars for demos, tutorials and tests.

Nothing produced here is market data. Every symbol starts with ``SYN`` and every frame carries
``frame.attrs["synthetic"] = True`` (plus ``generator`` and ``seed``).

Model (daily, :func:`generate_daily`)
-------------------------------------
For symbol *i* in sector *k(i)* on session *t* the close-to-close log return is::

    r[i,t] = drift[i,t] + beta[i] * m[t] + gamma[i] * s[k(i),t] + e[i,t]

* ``m`` is a common market factor, ``s[k]`` one factor per sector and ``e[i]`` idiosyncratic
  noise. Each of these series is ``sqrt(h[t]) * z[t]`` with a GARCH(1,1) variance
  ``h[t+1] = omega + alpha * (sqrt(h[t]) z[t])**2 + beta * h[t]`` (volatility clustering;
  ``omega`` sets the long-run variance) and Student-t innovations ``z`` with ``t_df`` degrees of
  freedom scaled to unit variance (fat tails). Betas and sector loadings are drawn per symbol;
  sharing ``m`` and ``s[k]`` makes stocks of one sector more correlated than stocks of different
  sectors, and all of them positively correlated.
* ``drift`` follows a two-state Markov regime per symbol. In a *trend* stretch it is a constant
  ``±trend_drift`` (up with probability ``trend_up_prob``); in a *mean-reverting* stretch it is
  an Ornstein-Uhlenbeck pull ``-ou_kappa * (log price - anchor)`` towards the log price at the
  start of the stretch. Stretches end with probabilities ``p_trend_end`` / ``p_revert_end`` per
  day, plus a small ``base_drift`` in both states.
* Bars: the open is the previous close times ``exp(gap)``, with a small overnight gap
  ``gap ~ N(0, (gap_frac * sigma)**2)``, ``sigma`` the symbol's conditional daily volatility.
  The intrabar path from open to close is a Brownian bridge of ``path_steps`` steps with
  volatility ``sigma``; high and low are the extremes of the path including open and close, so
  ``high >= max(open, close)`` and ``low <= min(open, close)`` always hold (prices are rounded
  to cents, which keeps this order).
* Volume: ``log V = log base + vol_ret_coef * |r| / sigma + vol_level_coef * log(sigma /
  sigma_long_run) + noise``: more shares trade on big moves and in volatile periods.
* ``SYNIDX`` is an index ETF: a buy-and-hold basket of one equal dollar amount of every
  constituent on the first day, scaled to 100. Its open/high/low/close are the basket's value
  at the constituents' open/high/low/close (so high and low bound the true basket path) and
  its volume is a fixed share of the constituents' dollar volume.

Model (intraday, :func:`generate_intraday`)
-------------------------------------------
Regular-hours bars of the calendar's sessions (UTC bar starts, early closes honoured). Each
session draws a daily variance from the same GARCH(1,1) recursion (one step per session); bar
returns are ``beta * market + idiosyncratic`` Student-t shocks scaled by the daily volatility
and a U-shaped intraday profile (busier at the open and the close). The first bar of a session
opens with an overnight gap; later bars open at the previous close. High/low come from a
Brownian bridge inside each bar, volume follows the intraday profile and ``|return|``.

The same seed gives identical frames (NumPy ``default_rng`` seeded with ``[seed, stream]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.data import calendars
from alphaforge.data.schema import parse_timeframe

INDEX_SYMBOL = "SYNIDX"
SECTORS: tuple[str, ...] = ("Technology", "Financials", "Energy", "Health Care")
_SECTOR_STREAM, _DAILY_STREAM, _INTRADAY_STREAM = 1, 2, 3


@dataclass(frozen=True)
class MarketModel:
    """Parameters of the synthetic market (daily units; see the module docstring)."""

    market_vol: float = 0.010
    sector_vol: float = 0.007
    idio_vol: tuple[float, float] = (0.010, 0.018)
    beta: tuple[float, float] = (0.8, 1.2)
    sector_loading: tuple[float, float] = (0.8, 1.2)
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    t_df: float = 5.0
    base_drift: float = 0.0001
    trend_drift: float = 0.0004
    trend_up_prob: float = 0.6
    p_trend_end: float = 1 / 120
    p_revert_end: float = 1 / 90
    ou_kappa: float = 0.03
    gap_frac: float = 0.3
    path_steps: int = 24
    intraday_path_steps: int = 10
    intraday_price_range: tuple[float, float] = (50.0, 300.0)
    price_range: tuple[float, float] = (20.0, 200.0)
    volume_base: tuple[float, float] = (5.5, 6.7)  # log10 of typical daily shares
    vol_ret_coef: float = 0.35
    vol_level_coef: float = 1.0
    vol_noise: float = 0.25


def sample_symbols(n_symbols: int = 20) -> list[str]:
    """Ticker names of the synthetic equities: ``SYN01``, ``SYN02`` ..."""
    if not 1 <= n_symbols <= 999:
        raise ConfigError(f"sample: n_symbols must be between 1 and 999, got {n_symbols}")
    width = max(2, len(str(n_symbols)))
    return [f"SYN{i:0{width}d}" for i in range(1, n_symbols + 1)]


def sample_sectors(seed: int = 42, n_symbols: int = 20) -> pd.DataFrame:
    """Sector of each synthetic equity (balanced over :data:`SECTORS`, shuffled by ``seed``).

    Returns
    -------
    pandas.DataFrame
        Columns ``symbol, sector``; ``attrs["synthetic"]`` is ``True``.
    """
    rng = np.random.default_rng([seed, _SECTOR_STREAM])
    labels = np.arange(n_symbols) % len(SECTORS)
    rng.shuffle(labels)
    frame = pd.DataFrame(
        {"symbol": sample_symbols(n_symbols), "sector": [SECTORS[k] for k in labels]}
    )
    frame.attrs.update(_attrs(seed))
    return frame


def _attrs(seed: int) -> dict[str, object]:
    return {"synthetic": True, "generator": "alphaforge.data.sample", "seed": seed}


def _student_t(rng: np.random.Generator, df: float, size: tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return np.asarray(rng.standard_t(df, size=size) * np.sqrt((df - 2.0) / df))


def _garch(z: np.ndarray, long_run_var: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """GARCH(1,1) variances ``h`` (same shape as ``z``) driven by unit shocks ``z``."""
    omega = long_run_var * (1.0 - alpha - beta)
    h = np.empty_like(z)
    h[0] = long_run_var
    for t in range(1, len(z)):
        h[t] = omega + alpha * h[t - 1] * z[t - 1] ** 2 + beta * h[t - 1]
    return h


def _regime_drift(
    rng: np.random.Generator, shocks: np.ndarray, log_p0: np.ndarray, model: MarketModel
) -> np.ndarray:
    """Total log returns: ``shocks`` plus the regime-switching drift (trend or OU)."""
    n_days, n = shocks.shape
    switch_u = rng.random((n_days, n))
    up = rng.random((n_days, n)) < model.trend_up_prob
    trending = rng.random(n) < 0.5
    direction = np.where(up[0], 1.0, -1.0)
    log_p = log_p0.copy()
    anchor = log_p0.copy()
    out = np.empty_like(shocks)
    for t in range(n_days):
        end_prob = np.where(trending, model.p_trend_end, model.p_revert_end)
        flip = switch_u[t] < end_prob
        trending = trending ^ flip
        direction = np.where(flip & trending, np.where(up[t], 1.0, -1.0), direction)
        anchor = np.where(flip & ~trending, log_p, anchor)
        drift = np.where(
            trending, direction * model.trend_drift, -model.ou_kappa * (log_p - anchor)
        )
        out[t] = model.base_drift + drift + shocks[t]
        log_p = log_p + out[t]
    return out


def _bar_ohlc(
    rng: np.random.Generator,
    log_open: np.ndarray,
    log_close: np.ndarray,
    sigma: np.ndarray,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """High and low of a Brownian-bridge path from ``log_open`` to ``log_close`` (elementwise)."""
    w = np.cumsum(rng.normal(0.0, 1.0, (*log_open.shape, steps)), axis=-1)
    w *= (sigma / np.sqrt(steps))[..., None]
    frac = np.arange(1, steps + 1) / steps
    bridge = w - frac * w[..., -1:] + frac * (log_close - log_open)[..., None]
    path = log_open[..., None] + bridge
    high = np.maximum(path.max(axis=-1), np.maximum(log_open, log_close))
    low = np.minimum(path.min(axis=-1), np.minimum(log_open, log_close))
    return np.exp(high), np.exp(low)


def _daily_returns(
    rng: np.random.Generator, n_days: int, sectors: np.ndarray, model: MarketModel
) -> tuple[np.ndarray, np.ndarray]:
    """Factor-model shocks ``(n_days, n)`` and their conditional volatility."""
    n, n_sec = len(sectors), len(SECTORS)
    idio_vol = rng.uniform(*model.idio_vol, n)
    long_run = np.concatenate(
        [[model.market_vol**2], np.full(n_sec, model.sector_vol**2), idio_vol**2]
    )
    z = _student_t(rng, model.t_df, (n_days, 1 + n_sec + n))
    h = _garch(z, long_run, model.garch_alpha, model.garch_beta)
    eps = np.sqrt(h) * z
    beta = rng.uniform(*model.beta, n)
    gamma = rng.uniform(*model.sector_loading, n)
    sec = 1 + sectors
    shocks = beta * eps[:, :1] + gamma * eps[:, sec] + eps[:, 1 + n_sec :]
    var = beta**2 * h[:, :1] + gamma**2 * h[:, sec] + h[:, 1 + n_sec :]
    return shocks, np.sqrt(var)


def _volume(
    rng: np.random.Generator,
    base: np.ndarray,
    ret: np.ndarray,
    sigma: np.ndarray,
    sigma_ref: np.ndarray,
    model: MarketModel,
) -> np.ndarray:
    surprise = np.abs(ret) / sigma - np.sqrt(2.0 / np.pi)
    log_v = (
        np.log(base)
        + model.vol_ret_coef * surprise
        + model.vol_level_coef * np.log(sigma / sigma_ref)
        + rng.normal(0.0, model.vol_noise, ret.shape)
    )
    return np.maximum(np.rint(np.exp(log_v)), 1.0).astype(np.int64)


def generate_daily(
    seed: int = 42,
    n_symbols: int = 20,
    start: str | pd.Timestamp = "2014-01-02",
    years: int = 10,
    calendar: str = "XNYS",
    model: MarketModel | None = None,
) -> pd.DataFrame:
    """SYNTHETIC daily bars of ``n_symbols`` equities plus the index ETF ``SYNIDX``.

    Parameters
    ----------
    seed
        Random seed: the same seed gives identical frames.
    n_symbols
        Number of synthetic equities (``SYN01`` ...), assigned to sectors by
        :func:`sample_sectors`.
    start, years
        First date and length of the sample; bars fall on the sessions of ``calendar``.
    calendar
        Exchange calendar of the sessions.
    model
        Model parameters (defaults of :class:`MarketModel`).

    Returns
    -------
    pandas.DataFrame
        Long bars ``symbol, timestamp, open, high, low, close, volume`` sorted by symbol and
        timestamp; timestamps are session dates at 00:00 UTC. ``attrs["synthetic"]`` is
        ``True``.
    """
    model = model or MarketModel()
    first = pd.Timestamp(start)
    days = calendars.sessions(calendar, first, first + pd.DateOffset(years=years) - pd.Timedelta(1))
    if len(days) < 2:
        raise ConfigError(f"sample: fewer than two sessions from {first.date()} for {years} years")
    rng = np.random.default_rng([seed, _DAILY_STREAM])
    sector_names = sample_sectors(seed, n_symbols)["sector"].to_numpy()
    sectors = np.array([SECTORS.index(s) for s in sector_names])
    shocks, sigma = _daily_returns(rng, len(days), sectors, model)
    p0 = rng.uniform(*model.price_range, n_symbols)
    ret = _regime_drift(rng, shocks, np.log(p0), model)
    bars, volume = _daily_bars(rng, ret, sigma, p0, model)
    stamps = pd.DatetimeIndex(days).tz_localize("UTC").as_unit("ns")
    frame = _long(sample_symbols(n_symbols), stamps, bars, volume)
    frame = pd.concat([frame, _index_etf(stamps, bars, volume, p0)], ignore_index=True)
    return _finish(frame, seed)


def _daily_bars(
    rng: np.random.Generator,
    ret: np.ndarray,
    sigma: np.ndarray,
    p0: np.ndarray,
    model: MarketModel,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """OHLC arrays (time x symbol) and volumes from close-to-close log returns."""
    log_close = np.log(p0) + np.cumsum(ret, axis=0)
    prev = np.vstack([np.log(p0)[None, :], log_close[:-1]])
    log_open = prev + rng.normal(0.0, 1.0, ret.shape) * model.gap_frac * sigma
    high, low = _bar_ohlc(rng, log_open, log_close, sigma, model.path_steps)
    bars = {"open": np.exp(log_open), "high": high, "low": low, "close": np.exp(log_close)}
    base = 10 ** rng.uniform(*model.volume_base, len(p0))
    sigma_ref = np.sqrt(np.mean(sigma**2, axis=0))
    return bars, _volume(rng, base, ret, sigma, sigma_ref, model)


def _index_etf(
    stamps: pd.DatetimeIndex, bars: dict[str, np.ndarray], volume: np.ndarray, p0: np.ndarray
) -> pd.DataFrame:
    shares = 100.0 / (len(p0) * p0)  # equal dollars per constituent, basket worth 100
    basket = {name: values @ shares for name, values in bars.items()}
    dollar_volume = (volume * bars["close"]).sum(axis=1)
    etf_volume = np.maximum(np.rint(0.02 * dollar_volume / basket["close"]), 1).astype(np.int64)
    return _long(
        [INDEX_SYMBOL],
        stamps,
        {k: v[:, None] for k, v in basket.items()},
        etf_volume[:, None],
    )


def _long(
    symbols: Sequence[str],
    stamps: pd.DatetimeIndex,
    bars: dict[str, np.ndarray],
    volume: np.ndarray,
) -> pd.DataFrame:
    """Long frame from ``(time, symbol)`` arrays, prices rounded to cents."""
    n_t, n = volume.shape
    frame = pd.DataFrame(
        {
            "symbol": np.repeat(np.asarray(symbols, dtype=object), n_t),
            "timestamp": np.tile(stamps, n),
        }
    )
    for name in ("open", "high", "low", "close"):
        frame[name] = np.round(bars[name].T.reshape(-1), 2)
    frame["volume"] = volume.T.reshape(-1)
    return frame


def _finish(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    frame["symbol"] = frame["symbol"].astype(str)
    frame = frame.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)
    frame.attrs.update(_attrs(seed))
    return frame


def _intraday_profile(starts: pd.DatetimeIndex, day_codes: np.ndarray) -> np.ndarray:
    """U-shaped volatility multiplier by position in the session (mean square 1)."""
    counts = np.bincount(day_codes)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(starts)) - first[day_codes]
    x = (pos + 0.5) / counts.max()
    profile = 0.8 + 2.0 * (2.0 * x - 1.0) ** 2
    return np.asarray(profile / np.sqrt(np.mean(profile**2)))


def _intraday_grid(
    calendar: str, timeframe: str, first: pd.Timestamp, days: int
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Bar starts of the first ``days`` sessions from ``first`` and each bar's session index."""
    session_days = calendars.sessions(calendar, first, first + pd.Timedelta(days=2 * days + 10))
    session_days = session_days[:days]
    if len(session_days) == 0:
        raise ConfigError(f"sample: no {calendar} session from {first.date()}")
    starts = calendars.expected_bar_starts(calendar, timeframe, session_days[0], session_days[-1])
    day_codes = np.searchsorted(
        np.asarray(session_days.as_unit("ns").asi8),
        np.asarray(starts.tz_localize(None).normalize().as_unit("ns").asi8),
        side="right",
    )
    return pd.DatetimeIndex(starts).as_unit("ns"), day_codes - 1


def _intraday_returns(
    rng: np.random.Generator,
    n: int,
    day_codes: np.ndarray,
    starts: pd.DatetimeIndex,
    model: MarketModel,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bar log returns, their volatility, and the GARCH daily variances (market, symbols)."""
    z_day = _student_t(rng, model.t_df, (int(day_codes[-1]) + 1, 1 + n))
    long_run = np.concatenate([[model.market_vol**2], np.full(n, np.mean(model.idio_vol) ** 2)])
    day_var = _garch(z_day, long_run, model.garch_alpha, model.garch_beta)
    per_bar = np.sqrt(day_var[day_codes] / np.bincount(day_codes).max())
    profile = _intraday_profile(starts, day_codes)[:, None]
    eps = _student_t(rng, model.t_df, (len(starts), 1 + n)) * per_bar * profile
    beta = rng.uniform(*model.beta, n)
    ret = beta * eps[:, :1] + eps[:, 1:]
    sigma = np.sqrt(beta**2 * per_bar[:, :1] ** 2 + per_bar[:, 1:] ** 2) * profile
    return ret, sigma, day_var


def generate_intraday(
    seed: int = 42,
    symbols: Sequence[str] | None = None,
    days: int = 21,
    timeframe: str = "1m",
    start: str | pd.Timestamp = "2024-01-02",
    calendar: str = "XNYS",
    model: MarketModel | None = None,
) -> pd.DataFrame:
    """SYNTHETIC regular-hours intraday bars over ``days`` sessions from ``start``.

    Parameters
    ----------
    seed
        Random seed: the same seed gives identical frames.
    symbols
        Symbols to generate (default: the first five synthetic equities).
    days
        Number of sessions.
    timeframe
        Bar length (``"1m"``, ``"5m"``, ``"15m"``, ``"1h"``).
    start, calendar
        First date and the exchange calendar (bars cover its regular hours, early closes
        honoured).
    model
        Model parameters (defaults of :class:`MarketModel`).

    Returns
    -------
    pandas.DataFrame
        Long bars with UTC bar-start timestamps, sorted by symbol and timestamp;
        ``attrs["synthetic"]`` is ``True``.
    """
    model = model or MarketModel()
    tf = parse_timeframe(timeframe)
    if not tf.is_intraday:
        raise ConfigError(f"sample: timeframe must be intraday, got {timeframe!r}")
    names = list(symbols) if symbols is not None else sample_symbols(5)
    if not names:
        raise ConfigError("sample: no symbols to generate")
    starts, day_codes = _intraday_grid(calendar, tf.name, pd.Timestamp(start), days)
    rng = np.random.default_rng([seed, _INTRADAY_STREAM])
    n, n_bars = len(names), len(starts)
    ret, sigma, day_var = _intraday_returns(rng, n, day_codes, starts, model)
    p0 = rng.uniform(*model.intraday_price_range, n)
    log_close = np.log(p0) + np.cumsum(ret, axis=0)
    log_open = np.vstack([np.log(p0)[None, :], log_close[:-1]])
    # Overnight gaps: the first bar of each session opens away from the previous close; the
    # cumulative gap shifts that bar and every later one.
    new_day = np.concatenate([[True], day_codes[1:] != day_codes[:-1]])
    gaps = np.zeros((n_bars, n))
    gaps[new_day] = rng.normal(0.0, 1.0, (int(new_day.sum()), n)) * model.gap_frac
    gaps[new_day] *= np.sqrt(day_var[:, 1:])
    shift = np.cumsum(gaps, axis=0)
    log_open, log_close = log_open + shift, log_close + shift
    high, low = _bar_ohlc(rng, log_open, log_close, sigma, model.intraday_path_steps)
    base = 10 ** rng.uniform(*model.volume_base, n) / np.bincount(day_codes).max()
    profile = _intraday_profile(starts, day_codes)[:, None]
    volume = _volume(rng, base * profile**2, ret, sigma, np.sqrt(np.mean(sigma**2, axis=0)), model)
    bars = {"open": np.exp(log_open), "high": high, "low": low, "close": np.exp(log_close)}
    return _finish(_long(names, starts, bars, volume), seed)
