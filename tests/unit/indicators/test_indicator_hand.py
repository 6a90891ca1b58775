"""Hand-computed cases, mainly for the indicators TA-Lib does not have.

Every expected number is worked out in the comments next to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.indicators import (
    bbands,
    donchian,
    ema,
    hma,
    hurst,
    ichimoku,
    keltner,
    rolling_beta,
    rolling_corr,
    session_ids,
    sma,
    supertrend,
    vwap,
    wma,
    zscore,
)

nan = np.nan
# a small OHLC sequence used by several cases
H = np.array([10.0, 11, 12, 13, 12, 10, 9])
L = np.array([9.0, 10, 11, 12, 10, 8, 7])
C = np.array([9.5, 10.5, 11.5, 12.5, 10.5, 8.5, 7.5])
# true ranges: bar1 max(1, |11-9.5|, |10-9.5|) = 1.5; bars 2, 3 likewise 1.5;
# bar4 max(2, |12-12.5|, |10-12.5|) = 2.5; bar5 max(2, .5, 2.5) = 2.5; bar6 max(2, .5, 1.5) = 2
# Wilder ATR(2): bar2 (1.5+1.5)/2 = 1.5; bar3 (1.5+1.5)/2 = 1.5; bar4 (1.5+2.5)/2 = 2.0;
# bar5 (2+2.5)/2 = 2.25; bar6 (2.25+2)/2 = 2.125


def test_sma_ema_wma_small() -> None:
    x = np.array([1.0, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(sma(x, 3), [nan, nan, 2, 3, 4, 5])
    # k = 2/(3+1) = 0.5, seed = SMA of first three = 2, then 2 + .5 (4 - 2) = 3, 4, 5
    np.testing.assert_allclose(ema(x, 3), [nan, nan, 2, 3, 4, 5])
    # weights 1, 2, 3 over 6: (1 + 4 + 9)/6, (2 + 6 + 12)/6, ...
    np.testing.assert_allclose(wma(x, 3), [nan, nan, 14 / 6, 20 / 6, 26 / 6, 32 / 6])


@pytest.mark.parametrize("period", [4, 9])
def test_hma_has_no_lag_on_a_straight_line(period: int) -> None:
    # WMA(n) of x_t = a t + b lags by a (n-1)/3, so 2 WMA(n/2) - WMA(n) = x_t + a/3 (n=4: lag
    # (1/3 vs 1) -> 2(x - a/3) - (x - a) = x + a/3) and WMA(sqrt n) of that removes a (r-1)/3:
    # n=4 (r=2): x + a/3 - a/3 = x; n=9 (r=3): x + 2a/3 - 2a/3 = x
    x = 5.0 + 2.0 * np.arange(30)
    out = hma(x, period)
    first = period + int(np.sqrt(period)) - 2
    assert np.isnan(out[:first]).all()
    np.testing.assert_allclose(out[first:], x[first:], rtol=0, atol=1e-12)


def test_hma_on_a_doubling_series() -> None:
    # x = 1, 2, 4, 8, 16, 32; n = 4: WMA2 = (x_{t-1} + 2 x_t)/3 -> bar3 20/3, bar4 40/3, bar5 80/3
    # WMA4 = (x_{t-3} + 2x_{t-2} + 3x_{t-1} + 4x_t)/10 -> bar3 4.9, bar4 9.8, bar5 19.6
    # raw = 2 WMA2 - WMA4 -> bar3 40/3 - 4.9, bar4 80/3 - 9.8, bar5 160/3 - 19.6
    # HMA = WMA2(raw): bar4 (raw3 + 2 raw4)/3, bar5 (raw4 + 2 raw5)/3
    raw3, raw4, raw5 = 40 / 3 - 4.9, 80 / 3 - 9.8, 160 / 3 - 19.6
    out = hma(np.array([1.0, 2, 4, 8, 16, 32]), 4)
    np.testing.assert_allclose(
        out, [nan, nan, nan, nan, (raw3 + 2 * raw4) / 3, (raw4 + 2 * raw5) / 3]
    )


def test_supertrend_by_hand() -> None:
    # period 2, multiplier 1; hl2 = 11.5, 12.5, 11, 9, 8 on bars 2..6, ATR as above
    # bar2: bands 13 / 10, close 11.5 above the lower band -> up, line = 10
    # bar3: upper 14 not below 13 and prev close 11.5 not above 13 -> stays 13; lower 11 > 10
    #       -> 11; close 12.5 >= 11 -> up, line 11
    # bar4: upper 13 stays 13; lower 9 < 11 and prev close 12.5 >= 11 -> stays 11;
    #       close 10.5 < 11 -> flips down, line = upper = 13
    # bar5: upper 11.25 < 13 -> 11.25; lower resets to 6.75 (prev close 10.5 < 11);
    #       close 8.5 <= 11.25 -> down, line 11.25
    # bar6: upper 10.125 < 11.25 -> 10.125; close 7.5 <= 10.125 -> down, line 10.125
    line, direction = supertrend(H, L, C, period=2, multiplier=1.0)
    np.testing.assert_allclose(line, [nan, nan, 10, 11, 13, 11.25, 10.125])
    np.testing.assert_array_equal(direction, [nan, nan, 1, 1, -1, -1, -1])


def test_keltner_by_hand() -> None:
    # EMA3 of C: seed (9.5+10.5+11.5)/3 = 10.5, then 11.5, 11, 9.75, 8.625 (k = 0.5)
    # +/- 2 ATR(2) with ATR 1.5, 1.5, 2, 2.25, 2.125
    up, mid, lo = keltner(H, L, C, period=3, atr_period=2, mult=2.0)
    e = np.array([nan, nan, 10.5, 11.5, 11, 9.75, 8.625])
    a = np.array([nan, nan, 1.5, 1.5, 2, 2.25, 2.125])
    np.testing.assert_allclose(mid, e)
    np.testing.assert_allclose(up, e + 2 * a)
    np.testing.assert_allclose(lo, e - 2 * a)


def test_donchian_and_ichimoku_by_hand() -> None:
    h = np.array([1.0, 3, 2, 5, 4, 6])
    lw = np.array([0.0, 1, 1, 2, 3, 3])
    up, mid, lo = donchian(h, lw, 3)
    np.testing.assert_allclose(up, [nan, nan, 3, 5, 5, 6])  # max of h over 3 bars
    np.testing.assert_allclose(lo, [nan, nan, 0, 1, 1, 2])  # min of l over 3 bars
    np.testing.assert_allclose(mid, [nan, nan, 1.5, 3, 3, 4])
    # tenkan(2): (3+0)/2, (3+1)/2, (5+1)/2, (5+2)/2, (6+3)/2 from bar1
    # kijun(3): 1.5, 3, 3, 4 from bar2; senkou_b raw (4): (5+0)/2, (5+1)/2, (6+1)/2 from bar3
    # senkou_a raw = (tenkan + kijun)/2 = 1.75, 3, 3.25, 4.25 from bar2; both spans shifted 2
    tk, kj, sa, sb = ichimoku(h, lw, tenkan=2, kijun=3, senkou=4, shift=2)
    np.testing.assert_allclose(tk, [nan, 1.5, 2, 3, 3.5, 4.5])
    np.testing.assert_allclose(kj, [nan, nan, 1.5, 3, 3, 4])
    np.testing.assert_allclose(sa, [nan, nan, nan, nan, 1.75, 3])
    np.testing.assert_allclose(sb, [nan, nan, nan, nan, nan, 2.5])


def test_session_vwap_resets_each_session() -> None:
    h = np.array([11.0, 13, 21, 22, 30])
    lw = np.array([9.0, 11, 19, 20, 28])
    c = np.array([10.0, 12, 20, 21, 29])
    v = np.array([100.0, 300, 50, 0, 0])
    session = np.array([1, 1, 2, 2, 3])
    # tp = 10, 12, 20, 21, 29; session 1: 10 then (10*100 + 12*300)/400 = 11.5
    # session 2: 20, then (20*50 + 21*0)/50 = 20; session 3 has no volume yet -> NaN
    np.testing.assert_allclose(vwap(h, lw, c, v, session), [10, 11.5, 20, 20, nan])
    # a shared 1-D session id works for every column of a panel
    panel = vwap(np.c_[h, h], np.c_[lw, lw], np.c_[c, c], np.c_[v, 2 * v], session)
    np.testing.assert_allclose(panel[:, 1], [10, 11.5, 20, 20, nan])


def test_session_ids_use_the_exchange_date() -> None:
    idx = pd.DatetimeIndex(
        ["2021-07-01 13:30", "2021-07-01 19:59", "2021-07-02 00:30", "2021-07-02 14:00"], tz="UTC"
    )
    ids = session_ids(idx)
    # 00:30 UTC on 07-02 is 20:30 on 07-01 in New York: same session as the first two bars
    assert ids[0] == ids[1] == ids[2] and ids[3] == ids[0] + 1
    # days since the epoch: 2021-07-01 is day 18809
    assert ids[0] == (pd.Timestamp("2021-07-01") - pd.Timestamp("1970-01-01")).days


def test_zscore_by_hand() -> None:
    x = np.array([1.0, 2, 3, 10, 10, 10])
    z = zscore(x, 3)
    # bar2: window 1,2,3 mean 2, population var 2/3 -> (3-2)/sqrt(2/3)
    # bar3: window 2,3,10 mean 5, var (9+4+25)/3 -> 5/sqrt(38/3)
    # bar4: window 3,10,10 mean 23/3, var ((14/3)^2 + 2 (7/3)^2)/3 = (294/9)/3 = 98/9
    #       -> (7/3)/sqrt(98/9)
    # bar5: flat window -> NaN
    exp = [nan, nan, 1 / np.sqrt(2 / 3), 5 / np.sqrt(38 / 3), (7 / 3) / np.sqrt(98 / 9), nan]
    np.testing.assert_allclose(z, exp)
    # sample std (ddof=1) of 1,2,3 is 1 -> z = 1
    assert zscore(x, 3, ddof=1)[2] == pytest.approx(1.0)


def test_bollinger_percent_b_and_bandwidth() -> None:
    # window 1,2,3: mean 2, population std s = sqrt(2/3); 1-sd bands 2 +/- s
    # %b = (3 - (2 - s)) / (2 s) = (1 + s)/(2 s); bandwidth = 2 s / 2 = s
    s = np.sqrt(2 / 3)
    res = bbands(np.array([1.0, 2, 3]), 3, 1.0, 1.0)
    assert res.upper[2] == pytest.approx(2 + s) and res.lower[2] == pytest.approx(2 - s)
    assert res.percent_b[2] == pytest.approx((1 + s) / (2 * s))
    assert res.bandwidth[2] == pytest.approx(s)
    flat = bbands(np.full(5, 7.0), 3)
    assert np.isnan(flat.percent_b).all() and flat.bandwidth[2] == 0.0


def test_beta_and_correlation_by_construction() -> None:
    rb = np.array([0.01, -0.02, 0.03, 0.01, -0.01, 0.02, -0.03])
    bench = 100 * np.cumprod(np.r_[1.0, 1 + rb])
    asset = 50 * np.cumprod(np.r_[1.0, 1 + 2 * rb])  # returns exactly twice the benchmark's
    beta = rolling_beta(asset, bench, 4)
    assert np.isnan(beta[:4]).all()
    np.testing.assert_allclose(beta[4:], 2.0, rtol=1e-9)
    # y = 3x + 1 is perfectly correlated, y = -x perfectly anti-correlated
    x = np.array([1.0, 4, 2, 8, 5, 7])
    np.testing.assert_allclose(rolling_corr(3 * x + 1, x, 3)[2:], 1.0, rtol=1e-12)
    np.testing.assert_allclose(rolling_corr(-x, x, 3)[2:], -1.0, rtol=1e-12)
    # a constant benchmark has no variance: 0, as TA-Lib reports
    assert rolling_beta(asset, np.full(8, 3.0), 4)[5] == 0.0


def _hurst_reference(x: np.ndarray, period: int, max_lag: int) -> np.ndarray:
    """Plain numpy version of the documented definition, window by window."""
    out = np.full(len(x), np.nan)
    lags = np.arange(2, max_lag + 1)
    for t in range(period - 1, len(x)):
        w = np.log(x[t - period + 1 : t + 1])
        tau = [np.std(w[lag:] - w[:-lag]) for lag in lags]
        out[t] = np.polyfit(np.log(lags), np.log(tau), 1)[0]
    return out


def test_hurst_matches_reference_and_separates_regimes() -> None:
    rng = np.random.default_rng(42)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 1500)))
    np.testing.assert_allclose(
        hurst(walk[:300], 60, 10), _hurst_reference(walk[:300], 60, 10), atol=1e-10
    )
    # a random walk scales like sqrt(lag): H near 0.5
    assert abs(hurst(walk, 1000, 20)[-1] - 0.5) < 0.1
    # alternating +/-1 around 100 (plus noise) mean-reverts: increments do not grow with lag
    alt = 100 + np.where(np.arange(1500) % 2 == 0, 1.0, -1.0) + rng.normal(0, 0.05, 1500)
    assert hurst(alt, 1000, 20)[-1] < 0.25
