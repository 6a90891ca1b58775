"""A replay's quiet bars, run in one compiled call, leave exactly what the cycle-by-cycle path
leaves: the same book, records, venue account and ledger (orders, fills, equity snapshots,
cycles and the state a restart continues from), on SQLite and PostgreSQL.

The reference is the same replay with the fast path switched off
(:meth:`TradingNode.fast_forward` returning at once), so every bar goes through
:meth:`TradingNode.step`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.engine.node import TradingNode
from alphaforge.engine.node_quiet import QuietBars
from alphaforge.ledger import Ledger
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.testing import shared_data_file
from alphaforge.testing.ledger_db import scratch_ledger_url

pytestmark = [pytest.mark.parity, pytest.mark.integration]

CASES: dict[str, dict[str, Any]] = {
    # a fixed stop held at the venue over long quiet holds
    "stop_held": {
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 50}, "symbols": ["MSFT"],
        "costs": {"commission": "0.1%", "slippage": "5bps"}, "exits": {"stop_loss": "5%"},
    },
    # a trailing stop moves on most bars: those bars are left to the cycle
    "trailing_and_limits": {
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 50},
        "symbols": ["MSFT", "JPM", "XOM"], "sizing": {"method": "fraction", "value": 0.3},
        "costs": {"commission": "0.005/share,min=1", "slippage": "5bps"},
        "exits": {"trailing_stop": "8%", "take_profit": "10%"},
        "risk": {"max_positions": 2, "daily_loss_limit": 0.02, "max_drawdown": 0.1},
    },
    "weights": {
        "strategy": "momentum_rotation", "params": {"lookback": 63, "skip": 0, "top_n": 2},
        "symbols": ["MSFT", "JPM", "XOM", "KO"], "costs": {"commission": "0.1%"},
    },
}  # fmt: skip


def _spec(case: dict[str, Any]) -> RunSpec:
    data = shared_data_file("us_equities_daily.parquet")
    return RunSpec.model_validate(
        {**case, "data": str(data), "start": "2012-01-01", "end": "2016-12-31", "timeframe": "1d",
         "runtime": {"signals": "precomputed"}}
    )  # fmt: skip


def _replay(case: dict[str, Any], url: str, home: Path, fast: bool) -> dict[str, Any]:
    calls: list[tuple[int, int]] = []
    original = TradingNode.fast_forward

    def spy(
        self: QuietBars, t: int, t_end: int, on_bar: Callable[[int, float], None] | None = None
    ) -> int:
        if not fast:
            return t
        stop = original(self, t, t_end, on_bar)
        calls.append((t, stop))
        return stop

    seen: list[tuple[int, float]] = []
    home.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(url)
    try:
        TradingNode.fast_forward = spy  # type: ignore[method-assign]
        setup = build_replay(_spec(case), AppSettings(home=home), ledger,
                             ReplayRequest(None, None, None, "quiet"))  # fmt: skip
        setup.node.st.keep_records()  # every record, to compare the two paths
        out = run_replay(setup, None, on_bar=lambda t, eq: seen.append((t, eq)))
        node = setup.node
        with ledger.engine.connect() as c:
            cycles = c.execute(text("SELECT bar, seq FROM cycles WHERE run_id = :r ORDER BY seq"),
                               {"r": setup.run_id}).all()  # fmt: skip
        state = ledger.state(f"{setup.run_id}/{node.p.strategy_id}", "runtime")
        return {
            "equity": out.final_equity,
            "book": {name: getattr(node.st.book, name).copy() for name in
                     ("account", "risk", "pos", "pend", "last_px")},
            "records": node.st.records(),
            "venue": node.p.venue.snapshot(),  # type: ignore[attr-defined]
            "curve": ledger.equity_curve(setup.run_id),
            "orders": [(o.client_id, o.state, o.qty) for o in ledger.orders(setup.run_id)],
            "fills": [(f.fill_id, f.qty, f.price, f.fee) for f in ledger.fills(setup.run_id)],
            "cycles": [(str(b), int(s)) for b, s in cycles],
            "state": state, "seen": seen, "calls": calls, "bars": setup.panel.shape[0],
        }  # fmt: skip
    finally:
        TradingNode.fast_forward = original  # type: ignore[method-assign]
        ledger.close()


def _same_book(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in a:
        x, y = a[name], b[name]
        if x.dtype.names:
            for field in x.dtype.names:
                np.testing.assert_array_equal(x[field], y[field], err_msg=f"{name}.{field}")
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


def _compare(fast: dict[str, Any], slow: dict[str, Any]) -> None:
    quiet = sum(stop - t for t, stop in fast["calls"])
    assert quiet > fast["bars"] // 4, "the case must have quiet bars to mean anything"
    assert fast["equity"] == slow["equity"]
    _same_book(fast["book"], slow["book"])
    for x, y in zip(fast["records"], slow["records"], strict=True):
        assert len(x) == len(y)
        for field in x.dtype.names:  # field by field: the aligned layout has padding bytes
            np.testing.assert_array_equal(x[field], y[field], err_msg=field)
    assert json.dumps(fast["venue"], sort_keys=True) == json.dumps(slow["venue"], sort_keys=True)
    pd.testing.assert_frame_equal(fast["curve"], slow["curve"])
    assert len(fast["curve"]) == fast["bars"]
    for key in ("orders", "fills", "cycles", "seen"):
        assert fast[key] == slow[key], key
    assert len(fast["fills"]) > 10
    fs, ss = fast["state"], slow["state"]
    assert fs["t"] == ss["t"] == fast["bars"] - 1
    assert fs == ss


@pytest.mark.parametrize("name", sorted(CASES))
def test_quiet_bars_leave_what_the_cycles_leave(name: str, tmp_path: Path) -> None:
    with scratch_ledger_url("sqlite", tmp_path / "fast") as fast_url:
        fast = _replay(CASES[name], fast_url, tmp_path / "fast", fast=True)
    with scratch_ledger_url("sqlite", tmp_path / "slow") as slow_url:
        slow = _replay(CASES[name], slow_url, tmp_path / "slow", fast=False)
    _compare(fast, slow)


def test_quiet_bars_on_postgresql(tmp_path: Path) -> None:
    """Exact decimals: the bulk-written snapshots equal the cycle-written ones to the digit."""
    with scratch_ledger_url("postgresql", tmp_path / "fast") as fast_url:
        fast = _replay(CASES["stop_held"], fast_url, tmp_path / "fast", fast=True)
    with scratch_ledger_url("postgresql", tmp_path / "slow") as slow_url:
        slow = _replay(CASES["stop_held"], slow_url, tmp_path / "slow", fast=False)
    _compare(fast, slow)
