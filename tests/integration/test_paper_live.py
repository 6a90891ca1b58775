"""Paper trading on a live feed: bars arrive in the store one session at a time while a clock
runs (both driven by the test), the runtime wakes at each session close of the XNYS calendar
and trades the fresh bar; after downtime it catches up without trading stale bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.data.clock import ExchangeClock
from alphaforge.data.sample import generate_daily
from alphaforge.data.store import ParquetStore
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper, run_paper
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

pytestmark = pytest.mark.integration
SYMBOLS = ["SYN01", "SYN02", "SYN03"]
SPEC = {
    "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": SYMBOLS,
    "timeframe": "1d", "costs": {"commission": "0.1%", "slippage": "5bps"},
    "sizing": {"method": "fraction", "value": 0.3}, "exits": {"stop_loss": "4%"},
    "feed": {"source": "store", "history_bars": 60},
    "schedule": {"delay_seconds": 180},  # bars arrive two minutes after the close
}  # fmt: skip


class Market:
    """A clock and a data process: sleeping moves time on, and every session that has closed
    by then is written into the store (a day's bar appears after its close)."""

    def __init__(self, store: ParquetStore, bars: pd.DataFrame, now: pd.Timestamp) -> None:
        self.store, self.bars, self.now = store, bars, now
        self.written = pd.Timestamp.min.tz_localize("UTC")
        clock = ExchangeClock("XNYS")
        days = pd.DatetimeIndex(bars["timestamp"].unique())
        # a daily bar (labelled by its session date) arrives two minutes after the close
        arrive = {d: clock.next_close(d) + pd.Timedelta(minutes=2) for d in days}
        self.bars = bars.assign(arrives=bars["timestamp"].map(arrive))
        self.deliver()

    def deliver(self) -> None:
        closed = self.bars[self.bars["arrives"] <= self.now].drop(columns="arrives")
        new = closed[closed["timestamp"] > self.written]
        if len(new):
            self.store.write(new, "1d")
            self.written = new["timestamp"].max()

    def sleep(self, seconds: float) -> None:
        self.now += pd.Timedelta(seconds=max(seconds, 1.0))
        self.deliver()


def _world(tmp_path: Path) -> tuple[AppSettings, ParquetStore, pd.DataFrame]:
    settings = AppSettings(home=tmp_path)
    bars = generate_daily(seed=7, n_symbols=3, start="2018-01-02", years=2)
    bars = bars[bars["symbol"].isin(SYMBOLS)].reset_index(drop=True)
    bars["timestamp"] = pd.to_datetime(bars["timestamp"], utc=True)
    return settings, ParquetStore(settings.store_dir), bars


def test_live_feed_trades_each_fresh_close_like_a_replay_of_the_same_bars(tmp_path: Path) -> None:
    settings, store, bars = _world(tmp_path)
    market = Market(store, bars, pd.Timestamp("2018-04-02 22:00", tz="UTC"))
    end = pd.Timestamp("2018-12-31 22:00", tz="UTC")
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_paper(RunSpec.model_validate(SPEC), settings, ledger, None, market.now)
        run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > end)
        paper = [(t.symbol, t.side, t.entry_ts, t.exit_ts) for t in ledger.trades(setup.run_id)]
        assert setup.skipped == []  # no downtime: every bar was traded at its close
        first = setup.node.panel.index[setup.node.panel.shape[0] - setup.cycles]
        spec = RunSpec.model_validate(
            {
                **SPEC,
                "start": str(setup.origin.date()),
                "end": str(setup.node.panel.index[-1].date()),
            }
        )
        replay = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
        run_replay(replay, None)
        same = [(t.symbol, t.side, t.entry_ts, t.exit_ts)
                for t in ledger.trades(replay.run_id) if t.entry_ts >= first.isoformat()]  # fmt: skip
    # the same trades on the same bars (quantities differ: the replay also traded during the
    # live run's warm-up history, so its equity differs)
    assert len(paper) >= 3
    assert paper == same


def test_downtime_is_caught_up_without_stale_orders(tmp_path: Path) -> None:
    settings, store, bars = _world(tmp_path)
    market = Market(store, bars, pd.Timestamp("2018-04-02 22:00", tz="UTC"))
    down = pd.Timestamp("2018-09-04 22:00", tz="UTC")
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        spec = RunSpec.model_validate(SPEC)
        setup = build_paper(spec, settings, ledger, None, market.now)
        run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > down)
        run_id = setup.run_id
        market.now += pd.Timedelta(days=7)  # the process was down for a week
        market.deliver()
        again = build_paper(spec, settings, ledger, run_id, market.now)
        stop = market.now + pd.Timedelta(days=20)
        run_paper(again, lambda: market.now, market.sleep, lambda: market.now > stop)
        skipped = set(again.skipped)
        orders = ledger.orders(run_id)
    assert len(skipped) >= 4  # the week's sessions, caught up
    assert not any(o.bar in skipped for o in orders)  # nothing sent for a stale bar
    assert np.isfinite(again.node.st.equity)


ACCOUNT = {
    **{k: v for k, v in SPEC.items() if k not in ("strategy", "params")},
    "strategies": [
        {"id": "fast", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
         "allocation": 0.5},
        {"id": "slow", "strategy": "ema_cross", "params": {"fast": 10, "slow": 30},
         "symbols": ["SYN02", "SYN03"], "allocation": 0.5, "exits": {"stop_loss": "6%"}},
    ],
    "account": {"max_gross": 0.8},
}  # fmt: skip


def test_an_account_of_two_strategies_on_a_live_feed_trades_like_its_replay(
    tmp_path: Path,
) -> None:
    from alphaforge.services.accounts import build_account_replay, run_account_replay

    settings, store, bars = _world(tmp_path)
    market = Market(store, bars, pd.Timestamp("2018-04-02 22:00", tz="UTC"))
    mid = pd.Timestamp("2018-08-01 22:00", tz="UTC")
    end = pd.Timestamp("2018-12-31 22:00", tz="UTC")
    spec = RunSpec.model_validate(ACCOUNT)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_paper(spec, settings, ledger, None, market.now)
        run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > mid)
        again = build_paper(spec, settings, ledger, setup.run_id, market.now)  # a restart
        run_paper(again, lambda: market.now, market.sleep, lambda: market.now > end)
        assert setup.skipped == [] and again.skipped == []
        first = again.node.panel.index[again.node.panel.shape[0] - again.cycles - setup.cycles]
        paper = {sid: sorted((t.symbol, t.side, t.entry_ts, t.exit_ts)
                             for t in ledger.trades(setup.run_id, sid)) for sid in ("fast", "slow")}  # fmt: skip
        info = ledger.run(setup.run_id)
        replay_spec = RunSpec.model_validate(
            {**ACCOUNT, "start": str(setup.origin.date()),
             "end": str(again.node.panel.index[-1].date())}
        )  # fmt: skip
        replay = build_account_replay(
            replay_spec, settings, ledger, ReplayRequest(None, None, None)
        )
        run_account_replay(replay, None)
        same = {sid: sorted((t.symbol, t.side, t.entry_ts, t.exit_ts)
                            for t in ledger.trades(replay.run_id, sid)
                            if t.entry_ts >= first.isoformat()) for sid in ("fast", "slow")}  # fmt: skip
    assert info is not None and info.mode == "paper" and list(info.strategies) == ["fast", "slow"]
    assert all(len(v) >= 2 for v in paper.values())
    assert paper == same


def test_a_restart_that_trades_a_bar_before_its_due_time_sleeps_until_the_next_bar(
    tmp_path: Path,
) -> None:
    """Down from Monday's cycle to Wednesday 2.5 minutes after the close: Wednesday's bar is in
    the store (bars arrive 2 minutes after the close) half a minute before its cycle is due
    (3 minutes after), Tuesday's close is still within the tolerance, so the restart catches
    Tuesday up and trades Wednesday. Then nothing is due until Thursday's close + 3 minutes:
    the loop sleeps once to Wednesday's due time and once to Thursday's, not every 30 s."""
    settings, store, bars = _world(tmp_path)
    market = Market(store, bars, pd.Timestamp("2018-04-02 22:00", tz="UTC"))
    monday = pd.Timestamp("2018-05-07 21:00", tz="UTC")
    wednesday = pd.Timestamp("2018-05-09 20:02:30", tz="UTC")  # the close is 20:00 UTC (EDT)
    thursday = pd.Timestamp("2018-05-10 21:00", tz="UTC")
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        spec = RunSpec.model_validate(SPEC)
        setup = build_paper(spec, settings, ledger, None, market.now)
        run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > monday)
        market.now = wednesday
        market.deliver()
        again = build_paper(spec, settings, ledger, setup.run_id, market.now)
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            market.sleep(seconds)

        run_paper(again, lambda: market.now, sleep, lambda: market.now > thursday)
        index = [ts.isoformat() for ts in again.node.panel.index]
    assert again.skipped == ["2018-05-08T00:00:00+00:00"]  # Tuesday, caught up
    assert index[-3:] == [f"2018-05-{d:02d}T00:00:00+00:00" for d in (8, 9, 10)]
    assert again.cycles == 2  # Tuesday and Wednesday together, then Thursday
    assert len(sleeps) <= 3, sleeps[:5]
