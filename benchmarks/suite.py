"""The workloads W1-W4: every engine timed on the same data, results cross-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import numpy as np
import pandas as pd

import alphaforge
from alphaforge.indicators.averages import sma
from alphaforge.services.backtest import backtest, to_panel
from alphaforge.sim.batch import run_batch
from benchmarks import peers
from benchmarks import workloads as W
from benchmarks.plain import plain_sweep_nb
from benchmarks.timing import Measure, measure


@dataclass
class Settings:
    quick: bool
    repeat: int = 3
    min_total_s: float = 1.0  # short measurements repeat until they add up to this
    minute_bars: int = 1_000_000
    slow_peer_bars: int = 50_000  # backtesting.py / backtrader bars on W1(b)
    vbt_minute_bars: int = 1_000_000  # vectorbt bars on W1(b)
    sweep_symbols: int = 100
    btpy_combos: int = 3
    bt_combos: int = 2
    w5_symbols: int = 20  # W5(b): symbols x sessions of 1-minute bars
    w5_sessions: int = 252  # one year of sessions
    w5_repeat: int = 3  # W5(a)
    w5_minute_repeat: int = 1  # W5(b), W5(c): a run of a year of minute bars takes minutes


@dataclass
class Workload:
    key: str
    title: str
    measures: list[Measure] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, what: str, ours: float, theirs: float, rel: float = 1e-6) -> None:
        ok = bool(np.isclose(ours, theirs, rtol=rel, atol=0.0))
        self.checks.append({"what": what, "alphaforge": ours, "peer": theirs, "ok": ok})
        if not ok:
            raise AssertionError(f"{self.key}: {what}: alphaforge {ours!r} != peer {theirs!r}")

    def get(self, engine: str) -> Measure:
        return next(m for m in self.measures if m.engine == engine)


def _engine_only(m: Measure, fn: Any, s: Settings) -> None:
    """Time ``fn`` (the same work from a prebuilt Panel) and keep it beside the public time."""
    e, _ = measure("engine only", fn, s.repeat)
    m.extra.update(engine_only_s=e.median_s, engine_only_min_s=e.min_s, bars=m.extra.get("bars"))


def _sma_job(fn: Any, df: pd.DataFrame, *levels: bool) -> Any:
    """A peer that takes signal masks: the masks (and stop levels) are built inside its timing."""
    close = df["close"].to_numpy()
    ent, ex = W.sma_signals(close, 10, 50)
    if levels:
        return fn(df, ent, ex, close * (1 - W.SL_PCT), close * (1 + W.TP_PCT))
    return fn(df, ent, ex)


def _single(key: str, title: str, df: pd.DataFrame, tf: str, s: Settings, slow_df: pd.DataFrame,
            freq: str) -> Workload:  # fmt: skip
    """W1: SMA(10/50) on one symbol, every engine, each starting from the same OHLCV frame."""
    wl = Workload(key, title)
    cfg = W.config()
    params = {"fast": 10, "slow": 50}
    if to_panel(df).timeframe != tf:
        raise AssertionError(f"{key}: detected timeframe {to_panel(df).timeframe} != {tf}")
    m, res = measure("alphaforge", lambda: backtest("sma_cross", df, params=params, config=cfg),
                     s.repeat)  # fmt: skip
    m.final_equity, m.trades = res.final_equity, res.num_trades
    m.extra["bars"] = len(df)
    panel = W.frame_panel(df, tf)
    _engine_only(m, lambda: backtest("sma_cross", panel, params=params, config=cfg), s)
    wl.measures.append(m)
    vdf = df.iloc[: s.vbt_minute_bars] if tf != "1d" else df
    m, pf = measure("vectorbt", lambda: peers.vbt_summary(peers.vbt_sma(
        vdf["close"], vdf["open"], [10], [50], freq)), s.repeat, scale=len(df) / len(vdf))  # fmt: skip
    m.final_equity, m.trades = float(pf[0][0]), float(pf[1][0])
    wl.measures.append(m)
    ref = res
    if len(vdf) != len(df):
        m.note = f"run on the first {len(vdf):,} bars, times scaled x{len(df) / len(vdf):.1f}"
        ref = backtest("sma_cross", vdf, params=params, config=cfg)
    wl.check(f"final equity vs vectorbt ({len(vdf):,} bars)", ref.final_equity, m.final_equity)
    wl.check("trades vs vectorbt", ref.num_trades, m.trades, 0.0)
    scale = len(df) / len(slow_df)
    small = backtest("sma_cross", slow_df, params=params, config=cfg)
    open_end = int((small.trades["exit_reason"] == "end_of_data").sum())
    for name, fn in (("backtesting.py", peers.btpy_run), ("backtrader", peers.bt_run)):
        m, (fin, n) = measure(name, partial(_sma_job, fn, slow_df), s.repeat, scale=scale)
        m.final_equity, m.trades = fin, n
        if scale != 1.0:
            m.note = f"run on the first {len(slow_df):,} bars, times scaled x{scale:.1f}"
        wl.measures.append(m)
        wl.check(f"final equity vs {name} ({len(slow_df):,} bars)", small.final_equity, fin)
        closed = small.num_trades - (open_end if name == "backtesting.py" else 0)
        wl.check(f"trades vs {name}", closed, n, 0.0)
    return wl


def w1(data: W.Daily, s: Settings) -> list[Workload]:
    df = data.frames[data.panel.symbols[0]]
    a = _single("W1a", "SMA 10/50, MSFT daily 2010-2019 (2,516 bars)", df, "1d", s, df, "1D")
    mdf = W.minute_bars(s.minute_bars)
    b = _single("W1b", f"SMA 10/50, {s.minute_bars:,} one-minute bars (synthetic random walk)",
                mdf, "1m", s, mdf.iloc[: s.slow_peer_bars], "1min")  # fmt: skip
    return [a, b]


def _plain(panel: Any, pairs: np.ndarray, windows: list[int]) -> np.ndarray:
    ma = np.stack([sma(panel.close, w) for w in windows], axis=0)  # (W, T, N)
    ma_t = np.ascontiguousarray(ma.transpose(2, 0, 1))
    return plain_sweep_nb(np.ascontiguousarray(panel.open.T), np.ascontiguousarray(
        panel.close.T), ma_t, pairs, W.CASH, W.COMM)  # fmt: skip


def _field(src: pd.DataFrame, name: str) -> pd.DataFrame:
    """One field of a wide ``(Price, Ticker)`` frame, or of a one-symbol frame as one column."""
    if isinstance(src.columns, pd.MultiIndex):
        return cast(pd.DataFrame, src[name.capitalize()])
    return src[[name]]


def w2(data: W.Daily, s: Settings, key: str, n_sym: int) -> Workload:
    """W2: the ~190-combination grid on ``n_sym`` symbols (each symbol its own backtest), from
    one symbol's OHLCV frame (W2a) or a wide (Price, Ticker) frame (W2b)."""
    first = data.panel.symbols[0]
    src = data.frames[first] if n_sym == 1 else data.wide(n_sym)
    panel = to_panel(src, symbol=first)
    grid = [{"fast": f, "slow": sl} for f, sl in W.GRID]
    n_bt = len(grid) * n_sym
    wl = Workload(key, f"SMA grid ({len(grid)} combos) x {n_sym} symbol(s), daily 2010-2019")
    cfg = W.config()
    for workers in (1, 2):
        job = partial(_sweep, grid, src, cfg, workers)
        label = f"alphaforge ({workers} worker{'s' * (workers > 1)})"
        m, swept = measure(label, job, s.repeat, backtests=n_bt)
        m.extra["bars"] = panel.shape[0] * panel.shape[1]
        _engine_only(m, partial(run_batch, "sma_cross", grid, panel, cfg, per_symbol=True,
                                n_workers=workers), s)  # fmt: skip
        wl.measures.append(m)
    fin, trd = (_by_symbol(swept, key) for key in ("final_equity", "num_trades"))
    windows = sorted({w for p in W.GRID for w in p})
    pairs = np.array([[windows.index(f), windows.index(sl)] for f, sl in W.GRID], dtype=np.int64)
    m, pl = measure("plain numba loop (1 worker)", lambda: _with_threads(
        1, _plain, panel, pairs, windows), s.repeat, backtests=n_bt)  # fmt: skip
    m.note = "from a prebuilt Panel (engine reference)"
    wl.measures.append(m)
    wl.check(
        "final equity vs plain loop (all)", float(np.abs(fin / pl[:, :, 0] - 1).max()) + 1, 1.0
    )
    fast, slow = [f for f, _ in W.GRID], [sl for _, sl in W.GRID]
    m, (vf, vt) = measure("vectorbt", lambda: peers.vbt_summary(peers.vbt_sma(
        _field(src, "close"), _field(src, "open"), fast, slow, "1D")), s.repeat,
        backtests=n_bt)  # fmt: skip
    wl.measures.append(m)
    _vbt_guard(wl, panel, fin, trd, vf.reshape(fin.shape), vt.reshape(fin.shape))
    df = data.frames[panel.symbols[0]]
    for name, fn, n in (("backtesting.py", peers.btpy_run, s.btpy_combos),
                        ("backtrader", peers.bt_run, s.bt_combos)):  # fmt: skip
        picks = np.linspace(0, len(grid) - 1, n).astype(int)
        m, outs = measure(name, partial(_each, fn, df, [W.GRID[k] for k in picks]),
                          s.repeat, backtests=n_bt, scale=n_bt / len(picks))  # fmt: skip
        m.note = f"{len(picks)} combo(s) on {panel.symbols[0]} run, scaled to {n_bt:,} backtests"
        wl.measures.append(m)
        for k, (f_eq, _) in zip(picks, outs, strict=True):
            wl.check(f"final equity {W.GRID[k]} vs {name}", float(fin[k, 0]), f_eq)
    return wl


def _sweep(grid: list[dict[str, int]], src: pd.DataFrame, cfg: Any, workers: int) -> Any:
    """The sweep as a user runs it from the frame: ``alphaforge.sweep`` (conversion to a Panel,
    checks, the batched kernel, the trial table with medians and plateau values)."""
    return alphaforge.sweep("sma_cross", src, grid, config=cfg, per_symbol=True, workers=workers)


def _by_symbol(swept: Any, key: str) -> np.ndarray:
    """``key`` of every (combo, symbol) of a sweep, combos in grid order, symbols in panel order."""
    rows = swept.symbol_trials
    return rows[key].to_numpy(dtype=float).reshape(len(swept.trials), len(swept.panel.symbols))


def _vbt_guard(wl: Workload, panel: Any, fin: np.ndarray, trd: np.ndarray, vf: np.ndarray,
               vt: np.ndarray) -> None:  # fmt: skip
    """Every (combo, symbol) must agree with vectorbt unless the two SMA implementations round an
    exact tie of the averages differently (different signal masks: then the rules saw different
    inputs and the pair is listed, not compared)."""
    import vectorbt as vbt

    bad = np.argwhere(~np.isclose(fin, vf, rtol=1e-6, atol=0.0) | (trd != vt))
    ties = []
    for k, j in bad:
        f, sl = W.GRID[k]
        c = panel.frame("close").iloc[:, j]
        ours = W.sma_signals(c.to_numpy(), f, sl)
        fm, sm = vbt.MA.run(c, f), vbt.MA.run(c, sl)
        theirs = (fm.ma_crossed_above(sm).to_numpy(), fm.ma_crossed_below(sm).to_numpy())
        if np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1]):
            wl.check(
                f"final equity {W.GRID[k]} {panel.symbols[j]} vs vectorbt", fin[k, j], vf[k, j]
            )
        ties.append(f"{W.GRID[k]} {panel.symbols[j]}")
    n = fin.size - len(ties)
    wl.checks.append({"what": f"final equity and trades vs vectorbt: {n} of {fin.size} backtests "
                      "equal (rel 1e-6)", "alphaforge": n, "peer": fin.size, "ok": True})  # fmt: skip
    if ties:
        wl.notes.append(
            f"{len(ties)} backtest(s) excluded from the vectorbt comparison because an exact tie of "
            "the two SMAs is rounded differently by vectorbt's rolling mean (signal masks differ "
            f"on that bar; same rules, different inputs): {', '.join(ties[:8])}"
        )


def _each(fn: Any, df: pd.DataFrame, combos: list[tuple[int, int]]) -> list[Any]:
    close = df["close"].to_numpy()
    return [fn(df, *W.sma_signals(close, f, sl)) for f, sl in combos]


def _with_threads(n: int, fn: Any, *args: Any) -> Any:
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        return fn(*args)
    finally:
        numba.set_num_threads(old)


def _stops(key: str, title: str, df: pd.DataFrame, s: Settings, vdf: pd.DataFrame,
           slow_df: pd.DataFrame, freq: str, with_bt: bool) -> Workload:  # fmt: skip
    """W3: W1 plus a stop at 95% and a target at 110% of the signal bar's close."""
    wl = Workload(key, title)
    cfg = W.config()
    params = {"fast": 10, "slow": 50}
    m, res = measure("alphaforge", lambda: backtest(
        W.SmaCrossStops, df, params=params, config=cfg), s.repeat)  # fmt: skip
    m.final_equity, m.trades = res.final_equity, res.num_trades
    m.extra["bars"] = len(df)
    panel = to_panel(df)
    _engine_only(m, lambda: backtest(W.SmaCrossStops, panel, params=params, config=cfg), s)
    wl.measures.append(m)

    def vbt_job() -> tuple[float, int]:
        ent, ex = W.sma_signals(vdf["close"].to_numpy(), 10, 50)
        return peers.vbt_stops(vdf, ent, ex, freq)

    m, (fin, n) = measure("vectorbt", vbt_job, s.repeat, scale=len(df) / len(vdf))
    m.final_equity, m.trades = fin, n
    m.note = "stops checked from the bar after entry (see notes); not compared"
    if len(vdf) != len(df):
        m.note += f"; run on the first {len(vdf):,} bars, times scaled x{len(df) / len(vdf):.1f}"
    wl.measures.append(m)
    small = res if len(slow_df) == len(df) else backtest(
        W.SmaCrossStops, slow_df, params=params, config=cfg)  # fmt: skip
    open_end = int((small.trades["exit_reason"] == "end_of_data").sum())
    peers_run = [("backtesting.py", peers.btpy_run)]
    if with_bt:
        peers_run.append(("backtrader", peers.bt_run))
    scale = len(df) / len(slow_df)
    for name, fn in peers_run:
        m, (fin, n) = measure(name, partial(_sma_job, fn, slow_df, True), s.repeat, scale=scale)
        m.final_equity, m.trades = fin, n
        if scale != 1.0:
            m.note = f"run on the first {len(slow_df):,} bars, times scaled x{scale:.1f}"
        wl.measures.append(m)
        wl.check(f"final equity vs {name}", small.final_equity, fin)
        closed = small.num_trades - (open_end if name == "backtesting.py" else 0)
        wl.check(f"trades vs {name}", closed, n, 0.0)
    reasons = res.trades["exit_reason"].value_counts().to_dict()
    wl.notes.append(f"alphaforge exit reasons: {reasons}")
    return wl


def w3(data: W.Daily, s: Settings) -> list[Workload]:
    """W3(a) on MSFT daily; W3(b) on the one-minute bars of W1(b)."""
    df = data.frames[data.panel.symbols[0]]
    a = _stops("W3", "SMA 10/50 + 5% stop / 10% target (absolute levels from the signal close), "
               "MSFT daily", df, s, df, df, "1D", True)  # fmt: skip
    mdf = W.minute_bars(s.minute_bars)
    b = _stops("W3b", f"W3 on {s.minute_bars:,} one-minute bars (synthetic random walk)", mdf, s,
               mdf.iloc[: min(s.vbt_minute_bars, 200_000)], mdf.iloc[: s.slow_peer_bars], "1min",
               False)  # fmt: skip
    b.notes.append("backtrader is not run on W3(b) (W1(b) times it on the same bars)")
    return [a, b]


def w4(data: W.Daily, s: Settings) -> Workload:
    """W4: 100 symbols, monthly top-10 momentum, equal weight, from one wide (Price, Ticker)
    frame for every engine."""
    wide = data.wide()
    panel = to_panel(wide)
    wl = Workload("W4", f"Monthly top-10 momentum rebalance over {panel.shape[1]} symbols")
    cfg = W.config()
    m, res = measure("alphaforge", lambda: backtest(W.MomentumTopN, wide, config=cfg),
                     s.repeat)  # fmt: skip
    m.final_equity, m.trades = res.final_equity, res.num_trades
    m.extra["bars"] = panel.shape[0] * panel.shape[1]
    _engine_only(m, lambda: backtest(W.MomentumTopN, panel, config=cfg), s)
    wl.measures.append(m)

    def decisions() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        close = cast(pd.DataFrame, wide["Close"])
        mask = W.month_end_mask(pd.DatetimeIndex(close.index))
        return close, W.momentum_weights(close.to_numpy(), mask), mask

    def vbt_job() -> float:
        close, weights, mask = decisions()
        return peers.vbt_rebalance(close, cast(pd.DataFrame, wide["Open"]), weights, mask)

    m, fin = measure("vectorbt", vbt_job, s.repeat)
    m.final_equity = fin
    m.note = "target percent of value at the open; not compared (rounding and cash rules differ)"
    wl.measures.append(m)

    def bt_job() -> float:
        close, weights, mask = decisions()
        frames = [cast(pd.DataFrame, wide.xs(sym, axis=1, level=1)).rename(columns=str.lower)
                  for sym in close]  # fmt: skip
        return peers.bt_rebalance(frames, weights, mask)

    m, fin = measure("backtrader", bt_job, s.repeat)
    m.final_equity = fin
    wl.measures.append(m)
    wl.check("final equity vs backtrader", res.final_equity, fin)
    return wl
