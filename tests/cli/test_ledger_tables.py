"""The ledger's tables keep what identifies a row: an id is never cut short (two ids of an order
and its protective leg differ only at their end, and both read ``af-SYN01-ent-2c26ed5437b0a…``
when cut), and a bar's day is never cut (it read ``2019-0…`` on a 120-column pipe)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alphaforge.cli.ledger_render import stamp
from tests.cli.conftest import invoke

pytestmark = pytest.mark.integration


def _cells(output: str, column: int) -> list[str]:
    """The text of ``column`` on each body line of a rich table (folded cells give one
    fragment per line)."""
    out = []
    for line in output.splitlines():
        if line.startswith("│"):
            out.append(line.split("│")[column + 1].strip())
    return out


def test_orders_table_shows_every_client_id_whole(af_home: Path) -> None:
    rows = json.loads(invoke(af_home, "orders", "--run", "r1", "--json").stdout)
    assert len(rows) >= 4
    res = invoke(af_home, "orders", "--run", "r1")
    assert res.exit_code == 0, res.output
    assert "…" not in "".join(_cells(res.stdout, 0))
    ids = "".join(_cells(res.stdout, 0))
    assert ids == "".join(r["client_id"] for r in rows)  # folded onto lines, never cut
    days = [c for c in _cells(res.stdout, 10) if c]  # bar (UTC): the run holds one strategy
    assert days == [r["bar"][:10] for r in rows]  # daily bars: the day, whole
    assert "strategy sma_cross" in res.stdout.splitlines()[0]


def test_fills_table_shows_every_fill_id_whole(af_home: Path) -> None:
    rows = json.loads(invoke(af_home, "fills", "--run", "r1", "--json").stdout)
    assert rows
    res = invoke(af_home, "fills", "--run", "r1")
    assert res.exit_code == 0, res.output
    assert "".join(_cells(res.stdout, 8)) == "".join(r["fill_id"] for r in rows)
    assert [c for c in _cells(res.stdout, 0) if c] == [r["ts"][:10] for r in rows]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2019-06-19T00:00:00+00:00", "2019-06-19"),
        ("2024-01-02T14:31:00+00:00", "2024-01-02 14:31"),
        ("2024-01-02T14:31:05.250000+00:00", "2024-01-02 14:31:05"),
        ("2024-01-02T09:31:00-05:00", "2024-01-02 14:31"),  # shown in UTC
        ("2024-01-02", "2024-01-02"),
        ("", ""),
        (None, ""),
        ("not a time", "not a time"),
    ],
)
def test_stamp(text: str | None, shown: str) -> None:
    assert stamp(text) == shown


def _order(client_id: str, type_: str, intent: str, limit: str | None, stop: str | None) -> Any:
    from alphaforge.ledger import OrderRow

    d = Decimal
    return OrderRow(
        client_id=client_id, run_id="r", strategy="s", symbol="SYN01", side="sell", qty=d(10),
        type=type_, intent=intent, tif="gtc", limit=None if limit is None else d(limit),
        stop=None if stop is None else d(stop), stop_loss=None, take_profit=None,
        bar="2019-06-19T00:00:00+00:00", reason="stop_loss", created="", state="accepted",
        updated="", venue_id="", state_reason="", filled_qty=d(0), avg_fill_price=d(0), fees=d(0),
    )  # fmt: skip


def test_a_protective_pair_is_shown_as_oco() -> None:
    """A protective order holding a stop and a target (the venue's one-cancels-other pair) was
    listed as type ``stop`` with a limit price, which reads as a stop-limit order."""
    from rich.console import Console

    from alphaforge.cli.ledger_render import order_type, orders_table

    pair = _order("a-p", "stop", "stop", "210.75", "177.26")
    stop_only = _order("b-p", "stop", "stop", None, "177.26")
    entry = _order("c", "stop_limit", "entry", "101", "100")  # a stop-limit entry stays one
    assert [order_type(o) for o in (pair, stop_only, entry)] == ["oco", "stop", "stop_limit"]
    console = Console(width=200, record=True)
    console.print(orders_table([pair, stop_only, entry], "Orders of r"))
    text = console.export_text()
    assert [c for c in _cells(text, 4) if c] == ["oco", "stop", "stop_limit"]
    assert "oco: a position's protective pair" in text
    console = Console(width=200, record=True)
    console.print(orders_table([stop_only], "Orders of r"))
    assert "oco:" not in console.export_text()  # the caption only where a pair is listed
