"""What the tests of an account of several strategies on the Alpaca stand-in share: the
account's spec, its round trips, the paper loop driven by the test's market clock, and a world
(stand-in, store, market, ledger) a test can stop, change by hand and restart.

The account: ``trend`` (sma_cross on SYN01, SYN02, bracketed entries) and ``revert``
(zscore_reversion on SYN02, SYN03), fixed-share sizing, zero costs, a gross cap of 5x.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tests.integration.test_paper_alpaca_live import START, Market, _world

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper, run_paper
from alphaforge.testing.alpaca_broker import AlpacaBroker

Trips = dict[str, dict[tuple[str, str, str, str], float]]
STRATEGIES = ("trend", "revert")


def account_spec(broker: AlpacaBroker | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "symbols": ["SYN01", "SYN02", "SYN03"], "timeframe": "1d",
        "costs": {"commission": 0, "slippage": 0}, "sizing": {"method": "shares", "value": 100},
        "feed": {"source": "store", "history_bars": 60}, "schedule": {"delay_seconds": 180},
        "strategies": [
            # stops: entries carry a bracket (they pass through), exits are netted
            {"id": "trend", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
             "symbols": ["SYN01", "SYN02"], "allocation": 0.5, "exits": {"stop_loss": "4%"}},
            # its entries after a drop meet the trend's exits of SYN02 at the same open: 100
            # shares cross, the other 50 go to the broker
            {"id": "revert", "strategy": "zscore_reversion",
             "params": {"period": 15, "entry_z": 1.0, "exit_z": 0.0},
             "symbols": ["SYN02", "SYN03"], "allocation": 0.5,
             "sizing": {"method": "shares", "value": 150}},
        ],
        "account": {"max_gross": 5.0},
    }  # fmt: skip
    if broker is not None:
        spec["broker"] = {"name": "alpaca", "base_url": broker.url, "stream_url": broker.stream_url}
    return spec


def trips(ledger: Ledger, run_id: str, first: str = "") -> Trips:
    """Each strategy's round trips, (symbol, side, entry, exit) -> quantity: a round trip whose
    entry filled partly crossed and partly at the broker is two lots of one trip."""
    out: Trips = {}
    for sid in STRATEGIES:
        got: dict[tuple[str, str, str, str], float] = defaultdict(float)
        for t in ledger.trades(run_id, sid):
            if t.entry_ts >= first:
                got[(t.symbol, t.side, t.entry_ts, t.exit_ts)] += float(t.qty)
        out[sid] = dict(got)
    return out


def run_until(setup: Any, market: Market, until: pd.Timestamp) -> None:
    """Run the paper loop until ``until``; the market never goes past it, so the broker has
    seen no bar the runtime has not."""

    def sleep(seconds: float) -> None:
        market.sleep(min(seconds, max((until - market.now).total_seconds() + 1.0, 1.0)))

    run_paper(setup, lambda: market.now, sleep, lambda: market.now > until)


def broker_positions(broker: AlpacaBroker) -> dict[str, float]:
    with broker.lock:
        return {s: h.qty for s, h in broker.book.positions.items() if h.qty}


def ledger_positions(ledger: Ledger, run_id: str) -> dict[str, dict[str, float]]:
    """Each strategy's open positions in the ledger, symbol -> signed quantity."""
    out: dict[str, dict[str, float]] = {sid: {} for sid in STRATEGIES}
    for p in ledger.positions(run_id):
        if float(p.qty):
            out.setdefault(p.strategy, {})[p.symbol] = float(p.qty)
    return out


def summed(positions: dict[str, dict[str, float]]) -> dict[str, float]:
    """The account's positions: every strategy's, added per symbol (flat ones left out)."""
    total: dict[str, float] = defaultdict(float)
    for held in positions.values():
        for sym, q in held.items():
            total[sym] += q
    return {s: q for s, q in total.items() if abs(q) > 1e-9}


@dataclass
class AccountWorld:
    """The stand-in, the store and its market clock, the ledger and the account's spec; one
    paper run of the account, stopped and restarted with :meth:`session`."""

    broker: AlpacaBroker
    settings: AppSettings
    bars: pd.DataFrame
    market: Market
    spec: RunSpec
    ledger: Ledger
    ledger_url: str
    run_id: str | None = None
    skipped: list[str] = field(default_factory=list)

    def session(self, until: str | pd.Timestamp, down_days: float = 0.0) -> Any:
        """Start (or restart) the run, run it until ``until``, stop it; then the market goes
        on for ``down_days`` while the runtime is down. Returns the closed setup."""
        setup = build_paper(self.spec, self.settings, self.ledger, self.run_id, self.market.now)
        self.run_id = setup.run_id
        try:
            run_until(setup, self.market, _utc(until))
        finally:
            setup.close()
        self.skipped += setup.skipped
        self.market.sleep(down_days * 86_400.0)
        return setup

    def reopen(self) -> None:
        """Open the ledger anew, as a new process does (after another process wrote to it)."""
        self.ledger.close()
        self.ledger = Ledger.open(self.ledger_url)

    def positions(self) -> dict[str, dict[str, float]]:
        assert self.run_id is not None
        return ledger_positions(self.ledger, self.run_id)

    def created(self) -> list[str]:
        """Client ids of every order the stand-in created (none may repeat)."""
        with self.broker.lock:
            return self.broker.new_order_ids()


def _utc(t: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@contextmanager
def account_world(tmp: Path, **spec: Any) -> Iterator[AccountWorld]:
    """An :class:`AccountWorld` on a fresh stand-in (``spec`` replaces keys of the account's
    spec); the market starts at ``START``."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, store, bars = _world(tmp, broker)
        market = Market(store, bars, broker)
        run_spec = RunSpec.model_validate({**account_spec(broker), **spec})
        url = f"sqlite:///{tmp / 'ledger.db'}"
        world = AccountWorld(broker, settings, bars, market, run_spec, Ledger.open(url), url)
        try:
            yield world
        finally:
            world.ledger.close()
