"""``positions`` shows the stop and target that working orders hold at the venue for each open
position (a trader's first question after a crash: is the position protected?), and ``orders``
names a protective pair ``oco``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from alphaforge.ledger import OrderRow, PositionRow
from alphaforge.ledger.protection import HeldProtection, held_protection
from tests.cli.conftest import invoke, replay_run

# SYN01-SYN03 of the seeded home hold a position each at the close of 2014-11-28 under these
# rules; each stop is 5% below, each target 15% above, the entry's fill price
PROTECTED = """\
strategy: sma_cross
params: {fast: 5, slow: 20}
symbols: [SYN01, SYN02, SYN03]
timeframe: 1d
cash: 100000
sizing: {method: fraction, value: 0.3}
exits: {stop_loss: 5%, take_profit: 15%}
broker: {name: simulated}
"""


@pytest.mark.integration
def test_positions_show_the_protection_held_at_the_venue(af_home: Path) -> None:
    replay_run(af_home, PROTECTED, "prot", to="2014-11-28")
    rows = json.loads(invoke(af_home, "positions", "--run", "prot", "--json").stdout)
    assert [r["symbol"] for r in rows] == ["SYN01", "SYN02", "SYN03"]
    for r in rows:  # one lot each: its average price is the entry's fill price
        assert r["qty"] > 0
        assert r["stop"] == pytest.approx(r["avg_price"] * 0.95, rel=1e-12, abs=1e-9)
        assert r["target"] == pytest.approx(r["avg_price"] * 1.15, rel=1e-12, abs=1e-9)
    table = invoke(af_home, "positions", "--run", "prot")
    assert table.exit_code == 0, table.output
    lines = [ln for ln in table.stdout.splitlines() if ln.startswith("│")]
    for r, line in zip(rows, lines, strict=True):
        cells = [c.strip() for c in line.split("│")[1:-1]]
        assert cells[1] == r["symbol"]
        assert cells[4:6] == [f"{r['stop']:,.2f}", f"{r['target']:,.2f}"]
    assert "held at the venue" in table.stdout
    orders = invoke(af_home, "orders", "--run", "prot", "--state", "open")
    assert orders.exit_code == 0, orders.output
    assert orders.stdout.count(" oco ") == 3
    working = json.loads(invoke(af_home, "orders", "--run", "prot", "--state", "open",
                                "--json").stdout)  # fmt: skip
    # the venue holds them: a bracket's legs read 'new' (never sent) before
    assert sorted((o["symbol"], o["state"]) for o in working) == [
        (s, "accepted") for s in ("SYN01", "SYN02", "SYN03")
    ]
    assert all(o["venue_id"] for o in working)
    status = json.loads(invoke(af_home, "status", "--run", "prot", "--json").stdout)
    assert status["open_positions"] == 3 and status["unprotected"] == []
    assert (
        "3 (each with a stop or target held at the venue)"
        in invoke(af_home, "status", "--run", "prot").stdout
    )


@pytest.mark.integration
def test_status_names_the_positions_nothing_protects(af_home: Path) -> None:
    """The same positions without exits: no order holds them at the venue, and status says
    which (a crash then leaves them unprotected)."""
    bare = PROTECTED.replace("exits: {stop_loss: 5%, take_profit: 15%}\n", "")
    replay_run(af_home, bare, "bare", to="2014-11-28")
    status = json.loads(invoke(af_home, "status", "--run", "bare", "--json").stdout)
    assert status["unprotected"] == ["SYN01", "SYN02", "SYN03"]
    text = " ".join(invoke(af_home, "status", "--run", "bare").stdout.split())
    assert "3 (3 without a stop or target at the venue: SYN01, SYN02, SYN03)" in text
    rows = json.loads(invoke(af_home, "positions", "--run", "bare", "--json").stdout)
    assert [(r["stop"], r["target"]) for r in rows] == [(None, None)] * 3


@pytest.mark.integration
def test_empty_order_and_fill_lists_say_so(af_home: Path) -> None:
    """An empty list printed a table with no rows; it now says there is none, like positions."""
    res = invoke(af_home, "orders", "--run", "r1", "--state", "rejected")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "no rejected orders in r1"
    res = invoke(af_home, "orders", "--run", "r1", "--state", "rejected", "--json")
    assert json.loads(res.stdout) == []


def _pos(symbol: str, qty: int) -> PositionRow:
    d = Decimal
    return PositionRow("s", symbol, d(qty), d(100), d(0), d(0))


def _protective(symbol: str, type_: str, limit: str | None, stop: str | None,
                take_profit: str | None = None, intent: str = "stop") -> OrderRow:  # fmt: skip
    def d(x: str | None) -> Decimal | None:
        return None if x is None else Decimal(x)

    z = Decimal(0)
    return OrderRow(
        client_id=f"{symbol}-{type_}-{limit}-{stop}", run_id="r", strategy="s", symbol=symbol,
        side="sell", qty=Decimal(10), type=type_, intent=intent, tif="gtc", limit=d(limit),
        stop=d(stop), stop_loss=None, take_profit=d(take_profit), bar="", reason="", created="",
        state="accepted", updated="", venue_id="", state_reason="", filled_qty=z,
        avg_fill_price=z, fees=z,
    )  # fmt: skip


def test_held_protection_reads_every_shape_of_protective_order() -> None:
    positions = [_pos("L", 10), _pos("S", -10), _pos("N", 5), _pos("T", 5)]
    orders = [
        _protective("L", "stop", None, "95"),  # the runtime's own pair: target in take_profit
        _protective("L", "stop", None, "97", take_profit="120"),
        _protective("L", "limit", "110", None),  # a bracket's target leg
        _protective("S", "stop", "80", "105"),  # the simulated venue's leg: target in limit
        _protective("S", "stop", None, "103"),
        _protective("N", "limit", "90", None, intent="entry"),  # not protective
        _protective("T", "stop", None, None, take_profit="130"),  # a target alone
    ]
    held = held_protection(positions, orders)
    d = Decimal
    assert held[("s", "L")] == HeldProtection(stop=d("97"), target=d("110"))  # the tightest
    assert held[("s", "S")] == HeldProtection(stop=d("103"), target=d("80"))  # short: lowest
    assert held[("s", "N")] == HeldProtection()  # nothing held: blank
    assert held[("s", "T")] == HeldProtection(stop=None, target=d("130"))
