"""Identical-rule runs of the peer engines (backtesting.py, vectorbt, backtrader) for golden tests.

Every peer gets the same precomputed signal arrays, so differences can only come from fills,
sizing and accounting.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from alphaforge.testing import shared_data_file


def load_symbol(symbol: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Raw daily OHLCV of one symbol from the shared real data, DatetimeIndex (UTC)."""
    path = shared_data_file("us_equities_daily.parquet")
    df = pd.read_parquet(path, filters=[("symbol", "==", symbol)])
    df = df.set_index(pd.DatetimeIndex(df["timestamp"]).tz_localize("UTC"))
    df = df[["open", "high", "low", "close", "volume"]].astype(float)
    if start:
        df = df[df.index >= pd.Timestamp(start, tz="UTC")]
    if end:
        df = df[df.index <= pd.Timestamp(end, tz="UTC")]
    return df


def run_backtesting_py(
    df: pd.DataFrame,
    entries: np.ndarray,
    exits: np.ndarray,
    cash: float,
    commission: float,
    sl: np.ndarray | None = None,
    tp: np.ndarray | None = None,
) -> tuple[float, pd.DataFrame]:
    """backtesting.py: buy() all-in at the next open on entries, position.close() on exits."""
    from backtesting import Backtest, Strategy

    ent, ex = entries, exits

    class Rules(Strategy):
        def init(self) -> None:
            self.ent = self.I(lambda: ent.astype(float), plot=False)
            self.ex = self.I(lambda: ex.astype(float), plot=False)

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position and self.ex[-1] > 0:
                self.position.close()
            elif not self.position and self.ent[-1] > 0:
                kw = {}
                if sl is not None:
                    kw["sl"] = float(sl[i])
                if tp is not None:
                    kw["tp"] = float(tp[i])
                self.buy(**kw)

    data = df.rename(columns=str.capitalize)
    assert isinstance(data.index, pd.DatetimeIndex)
    data.index = data.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(data, Rules, cash=cash, commission=commission, finalize_trades=False)
        stats = bt.run()
    return float(stats["Equity Final [$]"]), stats["_trades"]


def run_vectorbt(
    df: pd.DataFrame, entries: np.ndarray, exits: np.ndarray, cash: float, fees: float
) -> tuple[float, pd.DataFrame]:
    """vectorbt from_signals: signals shifted one bar, filled at that bar's open, all-in whole shares."""
    import vectorbt as vbt

    ent = pd.Series(entries, index=df.index).shift(1, fill_value=False).astype(bool)
    ex = pd.Series(exits, index=df.index).shift(1, fill_value=False).astype(bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf = vbt.Portfolio.from_signals(
            close=df["close"],
            entries=ent,
            exits=ex,
            price=df["open"],
            fees=fees,
            size=np.inf,
            size_granularity=1.0,
            init_cash=cash,
            freq="1D",
        )
        final = float(pf.value().iloc[-1])
        trades = pf.trades.records_readable
    return final, trades


def run_backtrader(
    df: pd.DataFrame,
    entries: np.ndarray,
    exits: np.ndarray,
    cash: float,
    commission: float,
    sl: np.ndarray | None = None,
    tp: np.ndarray | None = None,
) -> tuple[float, pd.DataFrame]:
    """backtrader: market orders at the next open, optional stop/limit bracket children.

    Decisions at bar ``i`` use only bar ``i`` (no cheat-on-open). The size is the all-in rule
    ``floor(cash / (fill_price * (1 + commission)))`` with the fill price = the next bar's open,
    which backtrader cannot know at order time, so it is read from the precomputed opens (the
    same number alphaforge computes at the fill); submit-time cash checks are off because they
    would use the signal bar's close. Bracket children (stop-loss, take-profit; one cancels the
    other) become active on the bar after the entry fill, so they are never checked in the entry
    bar; an exit signal cancels them before sending the market close, so the close fills at the
    next open before any stop of that bar. Returns the final value and the fills (bar, side,
    price, size, commission).
    """
    import backtrader as bt

    opens = df["open"].to_numpy()
    fills: list[dict[str, float | str]] = []

    class Rules(bt.Strategy):
        def __init__(self) -> None:
            self.children: list[object] = []

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                fills.append(
                    {
                        "bar": len(self) - 1,
                        "side": "buy" if order.isbuy() else "sell",
                        "price": order.executed.price,
                        "size": abs(order.executed.size),
                        "comm": order.executed.comm,
                    }
                )

        def next(self) -> None:
            i = len(self) - 1
            if i + 1 >= len(opens):
                return
            if self.position and exits[i]:
                for o in self.children:
                    self.cancel(o)
                self.children = []
                self.close()
            elif not self.position and entries[i]:
                size = int(np.floor(self.broker.getcash() / (opens[i + 1] * (1 + commission))))
                if size <= 0:
                    return
                if sl is None and tp is None:
                    self.buy(size=size)
                    return
                _, stop, limit = self.buy_bracket(
                    size=size,
                    exectype=bt.Order.Market,
                    stopprice=float(sl[i]) if sl is not None else None,
                    limitprice=float(tp[i]) if tp is not None else None,
                )
                self.children = [stop, limit]

    data = df.copy()
    data.index = pd.DatetimeIndex(data.index).tz_localize(None)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=data))
    cerebro.addstrategy(Rules)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=commission)
    cerebro.broker.set_checksubmit(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cerebro.run()
    return float(cerebro.broker.getvalue()), pd.DataFrame(fills)
