"""Paper trading on Alpaca with a live feed: alpaca-py's own clients against the local stand-in.

The test drives a clock and a market: a session's bar reaches the stand-in (which fills what is
resting at its open) and, two minutes after the close, the store. The runtime wakes at each
close of the XNYS calendar, books what the broker filled, and sends what the close decides at
once, for the next open (``alphaforge.engine.live_node``). Alpaca charges no commission and the
stand-in fills market orders at the open, so with zero costs the run's round trips are the
ones a replay of the same bars on the simulated venue makes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.data.clock import ExchangeClock
from alphaforge.data.sample import generate_daily
from alphaforge.data.store import ParquetStore
from alphaforge.ledger import Ledger
from alphaforge.ports import BarSet
from alphaforge.services.paper import build_paper, run_paper
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration
SYMBOLS = ["SYN01", "SYN02", "SYN03"]
START = pd.Timestamp("2018-04-02 22:00", tz="UTC")
END = pd.Timestamp("2018-12-31 22:00", tz="UTC")


def _spec(broker: AlpacaBroker | None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": SYMBOLS,
        "timeframe": "1d", "costs": {"commission": 0, "slippage": 0},
        "sizing": {"method": "fraction", "value": 0.3}, "exits": {"stop_loss": "4%"},
        "feed": {"source": "store", "history_bars": 60}, "schedule": {"delay_seconds": 180},
        **extra,
    }  # fmt: skip
    if broker is not None:
        spec["broker"] = {"name": "alpaca", "base_url": broker.url, "stream_url": broker.stream_url}
    return spec


class Market:
    """A clock, the exchange and a data process: when time passes a session's open, the broker
    fills at that open what rests for it; when it passes the close, the session's whole bar goes
    to the broker and, two minutes later, into the store."""

    def __init__(self, store: ParquetStore, bars: pd.DataFrame, broker: AlpacaBroker) -> None:
        self.store, self.broker, self.now = store, broker, START
        clock = ExchangeClock("XNYS")
        days = pd.DatetimeIndex(bars["timestamp"].unique()).sort_values()
        self.closes = {d: clock.next_close(d) for d in days}
        self.opens = {d: clock.next_open(d) for d in days}
        self.bars = bars
        self.days = list(days)
        self.opened = 0  # sessions whose open the broker has seen
        self.pushed = 0  # sessions sent to the broker
        self.stored = 0  # sessions written to the store
        self.deliver()

    def _bars(self, day: pd.Timestamp) -> BarSet:
        rows = self.bars[self.bars["timestamp"] == day].set_index("symbol").reindex(SYMBOLS)
        return BarSet(day, tuple(SYMBOLS), *(rows[f].to_numpy(float) for f in
                                             ("open", "high", "low", "close", "volume")))  # fmt: skip

    def deliver(self) -> None:
        while self.pushed < len(self.days):  # each session's open, then its close, in order
            day = self.days[self.pushed]
            if self.opened == self.pushed and self.opens[day] <= self.now:
                self.broker.on_open(self._bars(day))
                self.opened += 1
            if self.closes[day] > self.now:
                break
            self.broker.on_bar(self._bars(day))
            self.pushed += 1
            self.opened = self.pushed
        new = []
        while self.stored < len(self.days):
            day = self.days[self.stored]
            if self.closes[day] + pd.Timedelta(minutes=2) > self.now:
                break
            new.append(day)
            self.stored += 1
        if new:
            self.store.write(self.bars[self.bars["timestamp"].isin(new)], "1d")

    def sleep(self, seconds: float) -> None:
        self.now += pd.Timedelta(seconds=max(seconds, 1.0))
        self.deliver()

    def past(self, until: pd.Timestamp) -> Callable[[], bool]:
        """A stop condition: true once the clock has passed ``until``."""
        return lambda: self.now > until


def _world(tmp_path: Path, broker: AlpacaBroker) -> tuple[AppSettings, ParquetStore, pd.DataFrame]:
    settings = AppSettings(
        home=tmp_path, alpaca_api_key=SecretStr(broker.api_key),
        alpaca_secret_key=SecretStr(broker.secret_key),
    )  # fmt: skip
    bars = generate_daily(seed=7, n_symbols=3, start="2018-01-02", years=1)
    bars = bars[bars["symbol"].isin(SYMBOLS)].reset_index(drop=True)
    bars["timestamp"] = pd.to_datetime(bars["timestamp"], utc=True)
    return settings, ParquetStore(settings.store_dir), bars


def _round_trips(ledger: Ledger, run_id: str, first: str = "") -> list[tuple[str, str, str, str]]:
    return [(t.symbol, t.side, t.entry_ts, t.exit_ts) for t in ledger.trades(run_id)
            if t.entry_ts >= first]  # fmt: skip


def _run(
    tmp_path: Path,
    stops: list[tuple[str, int]],
    *,
    on_stop: Callable[[AlpacaBroker, Path], None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Paper-trade on the stand-in until END; at each of ``stops`` (a time, days of downtime)
    the process stops and restarts with the same run id after the downtime, while the market
    goes on (``on_stop(broker, home)`` is called at each stop); ``extra``: settings over the
    spec's. Returns what the tests compare."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, store, bars = _world(tmp_path, broker)
        market = Market(store, bars, broker)
        spec = RunSpec.model_validate(_spec(broker, **extra))
        out: dict[str, Any] = {"skipped": []}
        with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
            run_id = None
            plan = [(pd.Timestamp(t, tz="UTC"), d) for t, d in stops] + [(END, 0)]
            for until, down in plan:
                setup = build_paper(spec, settings, ledger, run_id, market.now)
                run_id = setup.run_id
                try:
                    run_paper(setup, lambda: market.now, market.sleep, market.past(until))
                    out["skipped"] += setup.skipped
                    out["venue_positions"] = {
                        p.symbol: p.qty for p in setup.node.p.venue.positions()
                    }
                finally:
                    setup.close()
                out.setdefault("first", setup.node.panel.index[setup.node.panel.shape[0]
                                                               - setup.cycles])  # fmt: skip
                if on_stop is not None and until != END:
                    on_stop(broker, tmp_path)
                market.sleep(down * 86_400.0)  # down: the broker fills what was resting
            assert run_id is not None
            out["run_id"] = run_id
            out["trades"] = _round_trips(ledger, run_id)
            out["ledger_positions"] = {p.symbol: float(p.qty) for p in ledger.positions(run_id)}
            out["orders"] = ledger.orders(run_id)
            out["fills"] = ledger.fills(run_id)
            info = ledger.run(run_id)
            assert info is not None
            out["mode"] = info.mode
            out["origin"] = info.replay_from
            out["panel_end"] = str(setup.node.panel.index[-1].date())
        out["created"] = broker.new_order_ids()
        out["bars"] = bars
    return out


def _opens(bars: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(s, ts.isoformat()): float(o) for s, ts, o in
            zip(bars["symbol"], bars["timestamp"], bars["open"], strict=True)}  # fmt: skip


def test_alpaca_paper_on_a_live_feed_sends_at_the_close_and_matches_a_replay(
    tmp_path: Path,
) -> None:
    live = _run(tmp_path, [])
    assert live["mode"] == "paper" and live["skipped"] == []
    trips = live["trades"]
    assert len(trips) >= 4
    # every order of a close left at that close and filled at the next session's open
    opens = _opens(live["bars"])
    days = sorted({ts for _s, ts in opens})
    orders = {o.client_id: o for o in live["orders"]}
    market = [f for f in live["fills"] if orders[f.client_id].intent in ("entry", "exit")]
    assert market
    for f in market:
        decided = orders[f.client_id].bar
        nxt = days[days.index(decided) + 1]
        assert pd.Timestamp(f.ts) >= pd.Timestamp(nxt)
        assert float(f.price) == pytest.approx(opens[(f.symbol, nxt)], rel=1e-12)
    assert live["venue_positions"] == live["ledger_positions"]  # the broker's are the ledger's
    assert len(live["created"]) == len(set(live["created"]))  # no client id sent twice
    # the same round trips as a replay of the same bars on the simulated venue
    with Ledger.open(f"sqlite:///{tmp_path / 'replay.db'}") as ledger:
        origin = str(pd.Timestamp(live["origin"]).date())  # the live run's warm-up too
        spec = RunSpec.model_validate({**_spec(None), "start": origin, "end": live["panel_end"]})
        setup = build_replay(spec, AppSettings(home=tmp_path), ledger,
                             ReplayRequest(None, None, None))  # fmt: skip
        run_replay(setup, None)
        replayed = _round_trips(ledger, setup.run_id, live["first"].isoformat())
    assert sorted(trips) == sorted(replayed)


def test_restarts_and_downtime_on_alpaca_lose_nothing_and_send_nothing_twice(
    tmp_path: Path,
) -> None:
    whole = _run(tmp_path / "a", [])
    # a restart at once, then a week down while the broker fills the orders of the last close
    broken = _run(tmp_path / "b", [("2018-06-01 21:30", 0), ("2018-08-21 23:00", 7)])
    assert broken["venue_positions"] == broken["ledger_positions"]  # nothing lost
    assert len(broken["created"]) == len(set(broken["created"]))  # nothing sent twice
    ids = [o.client_id for o in broken["orders"]]
    assert len(ids) == len(set(ids))
    fills = [f.fill_id for f in broken["fills"]]
    assert len(fills) == len(set(fills))  # each fill booked once
    # the week down was caught up without trading: no order decided on a stale close
    skipped = set(broken["skipped"])
    assert len(skipped) >= 4
    stale = [o for o in broken["orders"] if o.bar in skipped]
    assert all(o.intent == "stop" for o in stale), stale  # only protection of what filled
    assert stale, "the position filled while down gets its stop at the broker"
    # the orders sent at the close before the downtime filled while the process was down
    down_from = pd.Timestamp("2018-08-21", tz="UTC")
    first_down = min(pd.Timestamp(b) for b in skipped)
    while_down = [f for f in broken["fills"] if down_from < pd.Timestamp(f.ts) <= first_down]
    assert while_down, "expected a fill while the process was down"
    # up to the downtime the run is the uninterrupted one, restart included
    cut = "2018-08-21"
    before = sorted(t for t in broken["trades"] if t[3] and t[3] < cut)
    assert len(before) >= 5
    assert before == sorted(t for t in whole["trades"] if t[3] and t[3] < cut)
