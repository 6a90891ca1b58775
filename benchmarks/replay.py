"""W5: the trading runtime in replay mode (simulated venue, SQLite ledger) beside backtrader.

Rules on both sides: SMA 10/50 crossover, long only, decided at a bar's close and filled at the
next bar's open by a market order; 0.1% commission and 5 bps slippage on every fill (the stop's
too); a 5% stop-loss below the entry fill price, held from the entry bar on (a gap through it
fills at the open); 100,000 start cash.

- W5(a): MSFT daily 2010-2019 (raw prices), all-in whole shares
  ``floor(cash / (fill price * 1.001))``; the strategy sees every bar since the start (the
  runtime's default window, which gives the backtest's signals).
- W5(b): SYNTHETIC 1-minute bars of 20 symbols from the project's own sample model
  (``alphaforge.data.sample.generate_intraday``): the shared real minute data holds 5 sparse
  symbols over a few days, nothing like 20 symbols over months. 1,000,000 start cash and a
  fixed 10,000 per entry (``sizing: cash``), so that no entry is ever short of cash and every
  symbol trades on its own rules. Replayed as ``paper --replay`` does by default
  (``runtime.signals: auto``: the strategy evaluated once on the stored bars after the
  look-ahead detector passes it, then read bar by bar).
- W5(c): the same bars with the strategy called at every bar on its last 200 bars
  (``runtime.window``), as paper and live trading do; the whole history on every cycle would
  make a cycle's cost grow with the run.

alphaforge's timed call opens a fresh SQLite ledger in a temp dir, builds the node from a
``RunSpec`` made in code (``build_replay``, which also reads the bars from a Parquet file of
just these bars) and replays every bar (``run_replay``). backtrader's timed call builds its
Cerebro from in-memory frames and runs it (cheat-on-open, so a signal of bar t acts at bar
t+1's open); like in W1-W4 it receives the precomputed signal masks, which only flatters it.
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import peers
from benchmarks.timing import Measure
from benchmarks.workloads import END, START, sma_signals

SLIP = 0.0005  # 5 bps
SL_PCT = 0.05
FAST, SLOW = 10, 50
MINUTE_CASH, MINUTE_STAKE, MINUTE_WINDOW = 1_000_000.0, 10_000.0, 200
SESSION_BARS = 390


# ---- data ---------------------------------------------------------------------------------
def daily_long(symbol: str = "MSFT", years: int = 10) -> pd.DataFrame:
    """Raw daily bars of ``symbol``, the last ``years`` years of 2010-2019, in long layout."""
    from alphaforge.testing import shared_data_file

    first = pd.Timestamp(END) - pd.DateOffset(years=years) + pd.Timedelta(days=1)
    span = [("timestamp", ">=", max(pd.Timestamp(START), first)),
            ("timestamp", "<=", pd.Timestamp(END)), ("symbol", "==", symbol)]  # fmt: skip
    cols = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    df = pd.read_parquet(shared_data_file("us_equities_daily.parquet"), columns=cols, filters=span)
    return df.astype({"volume": float}).reset_index(drop=True)


def minute_long(n_symbols: int, sessions: int, seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC regular-hours 1-minute bars of ``n_symbols`` sample symbols (long layout)."""
    from alphaforge.data.sample import generate_intraday, sample_symbols

    df = generate_intraday(seed=seed, symbols=sample_symbols(n_symbols), days=sessions)
    return df[["symbol", "timestamp", "open", "high", "low", "close", "volume"]]


def frames_of(long: pd.DataFrame) -> list[pd.DataFrame]:
    """One OHLCV frame per symbol (timestamp index), in the symbols' order."""
    out = []
    for _sym, g in long.groupby("symbol", sort=True):
        out.append(g.set_index("timestamp")[["open", "high", "low", "close", "volume"]])
    return out


# ---- alphaforge ---------------------------------------------------------------------------
def spec_dict(
    data: Path, symbols: list[str], timeframe: str, minute: bool, window: bool = False
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "strategy": "sma_cross", "params": {"fast": FAST, "slow": SLOW}, "symbols": symbols,
        "data": str(data), "timeframe": timeframe, "adjust": False, "cash": 100_000.0,
        "costs": {"commission": "0.1%", "slippage": "5bps"},
        "exits": {"stop_loss": f"{SL_PCT:.0%}"}, "record_positions": False,
    }  # fmt: skip
    if minute:
        spec.update(cash=MINUTE_CASH, sizing={"method": "cash", "value": MINUTE_STAKE})
    if window:  # the strategy called on its last bars at every bar, as paper and live do
        spec.update(runtime={"window": MINUTE_WINDOW})
    return spec


class Replay:
    """A replay job over bars written once to ``<tmp>/bars.parquet``; each call gets a fresh
    home and ledger (removed after the call, outside the timing)."""

    def __init__(
        self, long: pd.DataFrame, timeframe: str, minute: bool, window: bool = False
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="af-w5-"))
        data = self.tmp / "bars.parquet"
        long.to_parquet(data)
        symbols = sorted(long["symbol"].unique().tolist())
        self.spec = spec_dict(data, symbols, timeframe, minute, window)
        self.n = 0
        self.last_home: Path | None = None

    def __call__(self) -> tuple[Any, Any]:
        from alphaforge.config.settings import AppSettings
        from alphaforge.config.specs import RunSpec
        from alphaforge.ledger import Ledger
        from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

        if self.last_home is not None:
            shutil.rmtree(self.last_home, ignore_errors=True)
        self.n += 1
        home = self.tmp / f"home{self.n}"
        self.last_home = home
        ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
        try:
            settings = AppSettings(home=home)
            spec = RunSpec.model_validate(self.spec)
            setup = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
            out = run_replay(setup, None)
        finally:
            ledger.close()
        return out, setup

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def replay_trades(setup: Any) -> tuple[int, int]:
    """(closed round trips, positions still open at the end) of a finished replay."""
    closed = setup.node.st.counts().trades  # the records themselves may have been dropped
    still_open = int(np.sum(setup.node.st.book.pos["qty"] != 0.0))
    return closed, still_open


# ---- backtrader ---------------------------------------------------------------------------
def bt_replay(frames: list[pd.DataFrame], masks: list[tuple[np.ndarray, np.ndarray]],
              stake: float | None, cash: float) -> tuple[float, int]:  # fmt: skip
    """backtrader under the W5 rules: entries and exits at the next open (cheat-on-open) with
    a stop order placed with the entry (so it is checked from the entry bar on), 5 bps slippage
    on every fill (also outside the bar's range, as alphaforge's), 0.1% commission. Sizing:
    all-in whole shares (``stake`` None) or ``floor(stake / fill price)``. Returns the final
    value and the number of entries filled."""
    import backtrader as bt

    pos = peers._positions(frames[0])

    class Rules(bt.Strategy):
        def __init__(self) -> None:
            self.n_entries = 0
            self.stops: dict[int, Any] = {}

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed and order.isbuy():
                self.n_entries += 1

        def next_open(self) -> None:
            i = pos[self.data.datetime.datetime(0)]
            if i == 0:
                return
            for k, d in enumerate(self.datas):
                ent, ex = masks[k]
                held = self.getposition(d).size != 0
                if held and ex[i - 1]:
                    stop = self.stops.pop(k, None)
                    if stop is not None:
                        self.cancel(stop)
                    self.close(data=d)
                elif not held and ent[i - 1]:
                    o = d.open[0]
                    fpx = o + o * SLIP
                    if stake is None:
                        q = peers.affordable(self.broker.getcash(), fpx)
                    else:
                        q = float(math.floor(stake / fpx + 1e-9))
                    if q <= 0:
                        continue
                    self.buy(data=d, size=q)
                    level = fpx * (1.0 - SL_PCT)
                    self.stops[k] = self.sell(data=d, size=q, exectype=bt.Order.Stop, price=level)

    cerebro = peers._cerebro(frames)
    cerebro.broker.setcash(cash)
    cerebro.broker.set_slippage_perc(SLIP, slip_open=True, slip_limit=True, slip_match=True,
                                     slip_out=True)  # fmt: skip
    cerebro.addstrategy(Rules)
    strat = cerebro.run()[0]
    return float(cerebro.broker.getvalue()), int(strat.n_entries)


# ---- profile ------------------------------------------------------------------------------
def profile_replay(job: Replay, top: int = 30) -> dict[str, Any]:
    """cProfile of one replay: total, the share of the named parts, and the top functions by
    cumulative time (text)."""
    prof = cProfile.Profile()
    prof.enable()
    job()
    prof.disable()
    st = pstats.Stats(prof)
    total = max(v[3] for v in st.stats.values())  # type: ignore[attr-defined]
    parts = {
        "ledger writes (TradingNode._write)": ("node.py", "_write"),
        "kill-switch read (TradingNode._kill_switch)": ("node.py", "_kill_switch"),
        "strategy signals on the window (SignalSource.row)": ("signals.py", "row"),
        "  of which the strategy's signals hook": ("library", "signals"),
        "open phase (Stepper.plan_open)": ("stepper.py", "plan_open"),
        "close phase (Stepper.close_bar)": ("stepper.py", "close_bar"),
        "venue (SimulatedVenue.on_bar)": ("venue.py", "on_bar"),
        "fills (TradingNode._fills)": ("node.py", "_fills"),
        "protection (TradingNode._protect_positions)": ("node.py", "_protect_positions"),
        "decision log (structlog)": ("trading.py", "log"),
    }
    share: dict[str, float] = {}
    for name, (file, func) in parts.items():
        cum = sum(v[3] for (f, _ln, fn), v in st.stats.items()  # type: ignore[attr-defined]
                  if fn == func and file in f)  # fmt: skip
        share[name] = cum
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return {"total_s": total, "parts_s": share, "text": buf.getvalue()}


# ---- the workload -------------------------------------------------------------------------
def _soft_check(wl: Any, what: str, ours: float, theirs: float, rel: float) -> None:
    """A guard that records a difference instead of stopping the run (the notes explain it)."""
    ok = bool(np.isclose(ours, theirs, rtol=rel, atol=0.0))
    wl.checks.append({"what": what, "alphaforge": ours, "peer": theirs, "ok": ok})


def _one(key: str, title: str, long: pd.DataFrame, timeframe: str, minute: bool,
         repeat: int, window: bool = False) -> Any:  # fmt: skip
    from benchmarks.suite import Workload

    wl = Workload(key, title)
    frames = frames_of(long)
    steps, n_sym = len(frames[0]), len(frames)
    bars = steps * n_sym
    job = Replay(long, timeframe, minute, window)
    try:
        m, (out, setup) = _measure("alphaforge replay", job, repeat, bars)
        closed, still_open = replay_trades(setup)
        m.final_equity, m.trades = out.final_equity, closed + still_open
        m.extra.update(closed=closed, open_at_end=still_open, orders=out.orders,
                       rejected=out.rejected, steps=steps, symbols=n_sym)  # fmt: skip
        wl.measures.append(m)
    finally:
        job.close()
    masks = [sma_signals(f["close"].to_numpy(), FAST, SLOW) for f in frames]
    stake, cash = (MINUTE_STAKE, MINUTE_CASH) if minute else (None, 100_000.0)
    m2, (fin, n) = _measure("backtrader", lambda: bt_replay(frames, masks, stake, cash),
                            repeat, bars)  # fmt: skip
    m2.final_equity, m2.trades = fin, n
    m2.note = "precomputed signal masks (as in W1-W4)"
    m2.extra.update(steps=steps, symbols=n_sym)
    wl.measures.append(m2)
    _soft_check(wl, "entries (closed + open at the end) vs backtrader", m.trades, n, 0.0)
    _soft_check(wl, "final equity vs backtrader", out.final_equity, fin, 1e-6)
    if window and not wl.checks[-1]["ok"]:
        wl.notes.append(
            f"the replay's strategy sees the last {MINUTE_WINDOW} bars; its SMAs are running sums "
            "that start at the window's first bar, so where the two averages tie exactly (prices "
            "in cents) they round differently from the whole history's, which backtrader's masks "
            "and the backtest use, and an exit moves by a bar"
        )
    return wl


def _measure(engine: str, fn: Any, repeat: int, bars: int) -> tuple[Measure, Any]:
    from benchmarks.timing import measure

    m, out = measure(engine, fn, repeat)
    m.extra["bars"] = bars
    return m, out


def w5(s: Any) -> list[Any]:
    """W5(a) 10 years of one symbol's daily bars; W5(b) ``s.w5_symbols`` symbols x
    ``s.w5_sessions`` sessions of synthetic 1-minute bars, replayed as ``paper --replay`` does
    by default (the strategy evaluated once after the look-ahead check); W5(c) the same bars
    with the strategy called on its last 200 bars at every bar, the paper and live path."""
    daily = daily_long("MSFT", 10)
    a = _one("W5a", f"Replay: SMA 10/50 + 5% stop, MSFT daily 2010-2019 ({len(daily):,} bars), "
             "simulated venue, SQLite ledger", daily, "1d", False, s.w5_repeat)  # fmt: skip
    minute = minute_long(s.w5_symbols, s.w5_sessions)
    n = len(minute)
    what = f"{s.w5_symbols} symbols x {s.w5_sessions} sessions of 1-minute bars ({n:,} bars, synthetic)"
    b = _one("W5b", f"Replay: SMA 10/50 + 5% stop, {what}, replay default (signals: auto)",
             minute, "1m", True, s.w5_minute_repeat)  # fmt: skip
    c = _one("W5c", f"Replay: SMA 10/50 + 5% stop, {what}, strategy called per bar on a window "
             f"of {MINUTE_WINDOW} (the paper / live path)", minute, "1m", True,
             s.w5_minute_repeat, window=True)  # fmt: skip
    return [a, b, c]


def main() -> None:
    """``python -m benchmarks.replay``: cProfile of one W5(a) replay (after a warm-up replay)."""
    long = daily_long("MSFT", 10)
    job = Replay(long, "1d", False)
    try:
        job()
        t0 = time.perf_counter()
        job()
        plain = time.perf_counter() - t0
        prof = profile_replay(job)
    finally:
        job.close()
    total = prof["total_s"]
    print(f"W5(a) replay: {plain:.2f} s without the profiler, {total:.2f} s under cProfile")
    for name, secs in prof["parts_s"].items():
        print(f"{name:55s} {secs:7.3f} s {100 * secs / total:5.1f} %")
    print(prof["text"])


if __name__ == "__main__":
    main()
