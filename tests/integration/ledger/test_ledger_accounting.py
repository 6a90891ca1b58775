"""Positions, FIFO round trips and daily P&L of a hand-computed run.

AAA (s1): buy 10 @ 100 (fee 1, 0.1 a unit); sell 4 @ 110 (fee 0.4) closes 4: pnl 40 - 0.4 - 0.4
= 39.2; sell 10 @ 90 (fee 1) closes the other 6 (pnl -60 - 0.6 - 0.6 = -61.2) and opens a short
of 4 @ 90 (fee 0.4 left on it); buy 2 @ 94 and 2 @ 96 (fees 0.1 + 0.1) of one order close it:
exit 95, pnl -20 - 0.4 - 0.2 = -20.6. BBB: buy 5 @ 20, 5 @ 30 (fees 0.5 each); sell 3 @ 40
(fee 0.3): pnl 60 - 0.3 - 0.3 = 59.4, 7 left (2 @ 20, 5 @ 30: avg 190/7). CCC (s2): short 2 @ 50.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest

from alphaforge.core.errors import ConfigError, StoreError
from alphaforge.ledger import Ledger, PositionRow
from alphaforge.ledger.summary import CSV_COLUMNS, daily_summary, export_trades_csv

pytestmark = pytest.mark.integration
RUN = "run-1"


def test_positions_from_fills(scenario: Ledger) -> None:
    bbb = PositionRow("s1", "BBB", D(7), D("27.1428571429"), D(60), D("1.3"))
    ccc = PositionRow("s2", "CCC", D(-2), D(50), D(0), D("0.2"))
    assert scenario.positions(RUN) == [bbb, ccc]
    assert scenario.positions(RUN, "s2") == [ccc]
    assert scenario.positions("no-such-run") == []


def test_fifo_round_trips(scenario: Ledger) -> None:
    got = [
        (t.symbol, t.side, t.qty, t.entry_price, t.exit_price, t.pnl, t.fees, t.exit_reason,
         t.entry_ts[:13], t.exit_ts[:13])
        for t in scenario.trades(RUN)
    ]  # fmt: skip
    assert got == [
        ("AAA", "long", 4, 100, 110, D("39.2"), D("0.8"), "take_profit", "2024-01-01T10",
         "2024-01-01T11"),
        ("AAA", "long", 6, 100, 90, D("-61.2"), D("1.2"), "reversal", "2024-01-01T10",
         "2024-01-02T10"),
        ("AAA", "short", 4, 90, 95, D("-20.6"), D("0.6"), "stop_loss", "2024-01-02T10",
         "2024-01-02T11"),
        ("BBB", "long", 3, 20, 40, D("59.4"), D("0.6"), "exit", "2024-01-02T12",
         "2024-01-03T10"),
    ]  # fmt: skip
    assert [t.symbol for t in scenario.trades(RUN, "s2")] == []


def test_fills_oldest_first_with_strategy_from_the_order(scenario: Ledger) -> None:
    fills = scenario.fills(RUN)
    assert [f.fill_id for f in fills][:5] == ["o1-f0", "o2-f0", "o3-f0", "o4-f0", "o4-f1"]
    assert {f.strategy for f in fills} == {"s1", "s2"}
    assert [f.fill_id for f in scenario.fills(RUN, "s2")] == ["o8-f0"]
    assert fills[0].qty == D(10) and fills[0].price == D(100) and fills[0].fee == D(1)


def test_daily_pnl_by_hand(scenario: Ledger) -> None:
    daily = scenario.daily_pnl(RUN)
    assert list(daily.index) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert list(daily["start_equity"]) == [10_000, 10_100, 9_900]
    assert list(daily["end_equity"]) == [10_100, 9_900, 9_950]
    assert list(daily["pnl"]) == [100, -200, 50]
    assert daily["return"].tolist() == pytest.approx([0.01, -200 / 10_100, 50 / 9_900])
    assert list(daily["trades"]) == [1, 2, 1]
    assert daily["fees"].tolist() == pytest.approx([1.4, 2.2, 0.5])
    assert list(daily["risk_events"]) == [0, 1, 0]
    assert list(daily["gross"]) == [800, 500, 1_000]  # each day's last snapshot
    assert list(daily["net"]) == [-200, 500, -400]
    one = scenario.daily_pnl(RUN, "2024-01-02")
    assert list(one.index) == ["2024-01-02"] and one["pnl"].iloc[0] == -200


def test_equity_curve(scenario: Ledger) -> None:
    curve = scenario.equity_curve(RUN)
    assert list(curve.columns) == ["cash", "equity", "gross", "net"]
    assert isinstance(curve.index, pd.DatetimeIndex)
    assert str(curve.index.tz) == "UTC" and len(curve) == 5
    assert curve["equity"].iloc[-1] == 9_950 and curve["cash"].iloc[0] == 9_500
    assert scenario.equity_curve(RUN, "s2").empty


def test_daily_summary(scenario: Ledger) -> None:
    summary = daily_summary(scenario, RUN, "2024-01-02")
    json.dumps(summary)
    assert summary["pnl"] == -200 and summary["start_equity"] == 10_100
    assert summary["trades"] == {"closed": 2, "wins": 0, "losses": 2, "pnl": -81.8}
    assert summary["exposure"] == {"gross": 500.0, "net": 500.0}
    assert [r["rule"] for r in summary["risk_events"]] == ["daily_loss"]
    with pytest.raises(ConfigError, match="2019-02-30"):
        daily_summary(scenario, RUN, "2019-02-30")
    with pytest.raises(StoreError, match="nope"):
        daily_summary(scenario, "nope", "2024-01-02")


def test_export_trades_csv(scenario: Ledger, tmp_path: Path) -> None:
    path = export_trades_csv(scenario, RUN, tmp_path / "out" / "trades.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["day"], r["symbol"], r["trades"], r["qty"], r["pnl"], r["fees"]) for r in rows] == [
        ("2024-01-01", "AAA", "1", "4", "39.2", "0.8"),
        ("2024-01-02", "AAA", "2", "10", "-81.8", "1.8"),
        ("2024-01-03", "BBB", "1", "3", "59.4", "0.6"),
    ]
    assert list(rows[0]) == CSV_COLUMNS
    assert [p.name for p in path.parent.iterdir()] == ["trades.csv"]  # no temp file left
