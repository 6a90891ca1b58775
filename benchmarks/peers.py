"""The peer engines under the shared rules of :mod:`benchmarks.workloads`.

vectorbt computes its own moving averages and crossings (like alphaforge); backtesting.py and
backtrader receive the precomputed signal masks (their times exclude indicator work, which only
flatters them). All-in sizing is ``floor(cash / (open * 1.001))`` everywhere.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from benchmarks.workloads import CASH, COMM

warnings.filterwarnings("ignore")
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py progress bars


# ---- vectorbt ---------------------------------------------------------------------------------
T = TypeVar("T", bound=pd.Series | pd.DataFrame)


def naive(x: T) -> T:
    """``x`` on a time-zone-naive index (its wall-clock UTC times).

    vectorbt's pandas paths run up to 70x slower on a tz-aware index (50 s instead of 0.7 s for
    SMA 10/50 on 1,000,000 UTC minute bars), so it is given what its users would hand it: the
    conversion is part of its timed call.
    """
    idx = x.index
    if isinstance(idx, pd.DatetimeIndex) and idx.tz is not None:
        return cast(T, x.set_axis(idx.tz_localize(None)))
    return x


def vbt_sma(close: pd.DataFrame | pd.Series, open_: Any, fast: Sequence[int], slow: Sequence[int],
            freq: str, sl: Any = None, tp: Any = None) -> Any:  # fmt: skip
    """SMA crossover over every (fast, slow) pair in one broadcasted ``from_signals``."""
    import vectorbt as vbt

    close, open_ = (
        naive(close),
        naive(open_) if isinstance(open_, pd.Series | pd.DataFrame) else open_,
    )
    fm = vbt.MA.run(close, window=list(fast), short_name="fast")
    sm = vbt.MA.run(close, window=list(slow), short_name="slow")
    ent = fm.ma_crossed_above(sm).vbt.fshift(1).fillna(False).astype(bool)
    ex = fm.ma_crossed_below(sm).vbt.fshift(1).fillna(False).astype(bool)
    kw: dict[str, Any] = {}
    if sl is not None:
        kw.update(sl_stop=sl, tp_stop=tp, open=open_, high=kw.get("high"), low=kw.get("low"))
    pf = vbt.Portfolio.from_signals(
        close, ent, ex, price=open_, fees=COMM, size=np.inf, size_granularity=1.0,
        init_cash=CASH, freq=freq, **kw,
    )  # fmt: skip
    return pf


def vbt_summary(pf: Any) -> tuple[np.ndarray, np.ndarray]:
    """Final value and trade count per column, plus the headline ratios (timed as part of a run)."""
    final = np.asarray(pf.final_value()).ravel()
    trades = np.asarray(pf.trades.count()).ravel()
    pf.sharpe_ratio()
    pf.max_drawdown()
    return final, trades


def vbt_stops(df: pd.DataFrame, ent: np.ndarray, ex: np.ndarray,
              freq: str = "1D") -> tuple[float, int]:  # fmt: skip
    """Stops as fractions of the fill price that put the level at 95% / 110% of the signal close.

    vectorbt checks stops from the bar after the entry and before that bar's signals, so it is
    timed here but not expected to agree trade for trade. Like :func:`vbt_summary` (W1, W2) the
    timed call ends with the headline ratios (Sharpe, maximum drawdown): alphaforge's result
    always carries its metrics, and W3 timed vectorbt without any.
    """
    import vectorbt as vbt

    df = naive(df)
    prev_close = df["close"].shift(1)
    sl = (1.0 - 0.95 * prev_close / df["open"]).fillna(0.05).clip(lower=1e-9)
    tp = (1.10 * prev_close / df["open"] - 1.0).fillna(0.10).clip(lower=1e-9)
    pf = vbt.Portfolio.from_signals(
        df["close"], pd.Series(ent, index=df.index).shift(1, fill_value=False).astype(bool),
        pd.Series(ex, index=df.index).shift(1, fill_value=False).astype(bool),
        price=df["open"], open=df["open"], high=df["high"], low=df["low"],
        sl_stop=sl, tp_stop=tp, fees=COMM, size=np.inf, size_granularity=1.0,
        init_cash=CASH, freq=freq,
    )  # fmt: skip
    final, trades = float(pf.final_value()), int(pf.trades.count())
    pf.sharpe_ratio()
    pf.max_drawdown()
    return final, trades


def vbt_rebalance(close: pd.DataFrame, open_: pd.DataFrame, weights: np.ndarray,
                  mask: np.ndarray) -> float:  # fmt: skip
    """Target-percent orders at the open after each decision bar, sells first (call_seq auto)."""
    import vectorbt as vbt

    close, open_ = naive(close), naive(open_)
    size = np.full(weights.shape, np.nan)
    rows = np.flatnonzero(mask[:-1]) + 1
    size[rows] = weights[rows - 1]
    pf = vbt.Portfolio.from_orders(
        close, pd.DataFrame(size, index=close.index, columns=close.columns),
        size_type="targetpercent", price=open_, val_price=open_, fees=COMM,
        size_granularity=1.0, init_cash=CASH, cash_sharing=True, group_by=True,
        call_seq="auto", freq="1D",
    )  # fmt: skip
    return float(pf.final_value())


# ---- backtesting.py ---------------------------------------------------------------------------
def btpy_run(df: pd.DataFrame, ent: np.ndarray, ex: np.ndarray, sl: np.ndarray | None = None,
             tp: np.ndarray | None = None) -> tuple[float, int]:  # fmt: skip
    """backtesting.py: buy() all-in at the next open, close() on exits; closed-trade count."""
    from backtesting import Backtest, Strategy

    class Rules(Strategy):
        def init(self) -> None:
            self.ent = self.I(lambda: ent.astype(float), plot=False)
            self.ex = self.I(lambda: ex.astype(float), plot=False)

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position and self.ex[-1] > 0:
                self.position.close()
            elif not self.position and self.ent[-1] > 0:
                if sl is not None and tp is not None:
                    self.buy(sl=float(sl[i]), tp=float(tp[i]))
                else:
                    self.buy()

    data = df.rename(columns=str.capitalize)
    data.index = pd.DatetimeIndex(data.index).tz_localize(None)
    bt = Backtest(data, Rules, cash=CASH, commission=COMM, finalize_trades=False)
    stats = bt.run()
    return float(stats["Equity Final [$]"]), len(stats["_trades"])


# ---- backtrader -------------------------------------------------------------------------------
def _cerebro(frames: Sequence[pd.DataFrame]) -> Any:
    import backtrader as bt

    cerebro = bt.Cerebro(cheat_on_open=True, stdstats=False)
    for k, df in enumerate(frames):
        d = df.copy()
        d.index = pd.DatetimeIndex(d.index).tz_localize(None)
        cerebro.adddata(bt.feeds.PandasData(dataname=d), name=str(k))
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=COMM)
    return cerebro


def _positions(df: pd.DataFrame) -> dict[Any, int]:
    """Bar position of each (naive) timestamp: backtrader strategies look signals up by date."""
    return {
        t.to_pydatetime(): k for k, t in enumerate(pd.DatetimeIndex(df.index).tz_localize(None))
    }


def affordable(cash: float, price: float) -> float:
    """Whole shares whose cost plus the 0.1% commission fit ``cash`` (alphaforge's rule)."""
    if cash <= 0.0 or price <= 0.0:
        return 0.0
    q = math.floor(cash / (price * (1.0 + COMM)) + 1e-9)
    while q > 0 and q * price * (1.0 + COMM) > cash + 1e-9:
        q -= 1
    return float(q)


def bt_run(df: pd.DataFrame, ent: np.ndarray, ex: np.ndarray, sl: np.ndarray | None = None,
           tp: np.ndarray | None = None) -> tuple[float, int]:  # fmt: skip
    """backtrader with cheat-on-open: the signal of bar t is acted on in bar t+1's next_open.

    Stops: a stop and a limit sell (OCO) placed with the entry, so the entry bar is checked too
    and the stop is looked at before the target.
    """
    import backtrader as bt

    pos = _positions(df)

    class Rules(bt.Strategy):
        def __init__(self) -> None:
            self.n_entries = 0
            self.brackets: list[Any] = []

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed and order.isbuy():
                self.n_entries += 1

        def next_open(self) -> None:
            i = pos[self.data.datetime.datetime(0)]
            if i == 0:
                return
            if self.position and ex[i - 1]:
                for o in self.brackets:
                    self.cancel(o)
                self.brackets = []
                self.close()
            elif not self.position and ent[i - 1]:
                q = affordable(self.broker.getcash(), self.data.open[0])
                self.buy(size=q)
                if sl is not None and tp is not None:
                    s = self.sell(size=q, exectype=bt.Order.Stop, price=float(sl[i - 1]))
                    t = self.sell(size=q, exectype=bt.Order.Limit, price=float(tp[i - 1]), oco=s)
                    self.brackets = [s, t]

    cerebro = _cerebro([df])
    cerebro.addstrategy(Rules)
    strat = cerebro.run()[0]
    return float(cerebro.broker.getvalue()), int(strat.n_entries)


def bt_rebalance(frames: Sequence[pd.DataFrame], weights: np.ndarray, mask: np.ndarray) -> float:
    """The alphaforge rebalance rules in backtrader: marks at the open, sells first, then buys
    capped by the cash the sells leave (whole shares, 0.1% commission)."""
    import backtrader as bt

    pos = _positions(frames[0])

    class Rebalance(bt.Strategy):
        def next_open(self) -> None:
            i = pos[self.data.datetime.datetime(0)]
            if i == 0 or not mask[i - 1]:
                return
            w = weights[i - 1]
            cash = self.broker.getcash()
            qty = [self.getposition(d).size for d in self.datas]
            opens = [d.open[0] for d in self.datas]
            net = 0.0
            for q, o in zip(qty, opens, strict=True):
                if q != 0.0:
                    net += q * o
            eq = cash + net
            delta = [math.floor(w[j] * eq / opens[j] + 1e-9) - qty[j] for j in range(len(qty))]
            for j, d in enumerate(self.datas):
                if delta[j] < 0 and qty[j] > 0:
                    red = min(-delta[j], qty[j])
                    self.sell(data=d, size=red)
                    cash += red * opens[j] - red * opens[j] * COMM
            for j, d in enumerate(self.datas):
                if delta[j] > 0:
                    q = min(delta[j], affordable(cash, opens[j]))
                    if q > 0:
                        self.buy(data=d, size=q)
                        cash -= q * opens[j]

    cerebro = _cerebro(frames)
    cerebro.addstrategy(Rebalance)
    cerebro.run()
    return float(cerebro.broker.getvalue())
