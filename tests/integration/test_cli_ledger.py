"""The ledger commands (status, positions, orders, fills, pnl, export trades, kill, resume) on a
temp home whose ledger is written through the Ledger API."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TypedDict

import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.core.orders import (
    Fill,
    Intent,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
)
from alphaforge.ledger import Ledger

pytestmark = pytest.mark.integration
runner = CliRunner()


def run(*argv: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(argv), env={"COLUMNS": "240"})
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, err: str) -> None:
    assert code != 0
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


class RunFields(TypedDict):
    """The fields of ``Ledger.start_run`` both runs share."""

    venue: str
    config_hash: str
    config_text: str
    strategies: list[str]


@pytest.fixture
def ledger_home(home: Path) -> Path:
    """A home whose ledger holds run r1: AAPL bought 1,500 @ 190.25 and sold 500 @ 200 over
    two days, an open limit order, equity snapshots; and an older run r0."""
    lg = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    common: RunFields = {
        "venue": "sim",
        "config_hash": "h",
        "config_text": "",
        "strategies": ["sma"],
    }
    lg.start_run(run_id="r0", mode="replay", started="2024-01-01T00:00:00Z", **common)
    lg.start_run(run_id="r1", mode="paper", started="2024-02-01T00:00:00Z", **common)
    bars = ["2024-02-01T15:00:00+00:00", "2024-02-02T15:00:00+00:00"]
    for i, (bar, side, qty, price) in enumerate(
        [(bars[0], Side.BUY, 1500.0, 190.25), (bars[1], Side.SELL, 500.0, 200.0)]
    ):
        cid = f"c{i}"
        with lg.cycle("r1", bar) as w:
            w.order(
                OrderRequest(cid, "sma", "AAPL", side, qty, Intent.ENTRY, bar=bar, reason="signal")
            )
            fill = Fill(f"f{i}", cid, "AAPL", side, qty, price, 1.5, bar)
            w.order_event(OrderUpdate(cid, OrderState.FILLED, bar, fill=fill))
            w.equity("sma", 100_000.0, 1_234_567.891 + 1000 * i, 0.0, 0.0)
    with lg.cycle("r1", "2024-02-02T16:00:00+00:00") as w:
        w.order(
            OrderRequest(
                "c9", "sma", "MSFT", Side.BUY, 10, Intent.ENTRY, type=OrderType.LIMIT, limit=400.0
            )
        )
        w.order_event(OrderUpdate("c9", OrderState.ACCEPTED, "2024-02-02T16:00:00Z"))
    lg.close()
    return home


def test_empty_ledger(home: Path) -> None:
    code, out, _ = run("status")
    assert code == 0 and "no runs yet: start one with alphaforge paper --config" in out
    for cmd in (
        ["positions"],
        ["orders"],
        ["fills"],
        ["pnl"],
        ["export", "trades", "--csv", "x.csv"],
    ):
        code, _, err = run(*cmd)
        one_line_error(code, err)
        assert "no runs yet" in err


def test_status_and_tables(ledger_home: Path) -> None:
    code, out, _ = run("status")
    assert code == 0
    for text in ("r1", "paper", "sim", "2024-02-02T16:00:00+00:00", "1,235,567.89", "trading"):
        assert text in out
    status = json.loads(run("status", "--json")[1])
    assert status["open_positions"] == 1 and status["open_orders"] == 1
    assert status["halted"] is False and status["run_id"] == "r1"
    code, out, _ = run("positions")
    assert code == 0 and "AAPL" in out and "1,000" in out and "190.25" in out
    assert "4,875.00" in out  # realized: 500 x (200 - 190.25)
    code, out, _ = run("orders", "--state", "open")
    assert code == 0 and "c9" in out and "400.00" in out and "c0" not in out
    orders = json.loads(run("orders", "--json")[1])
    assert [o["state"] for o in orders] == ["filled", "filled", "accepted"]
    fills = json.loads(run("fills", "--json")[1])
    assert [f["qty"] for f in fills] == [1500, 500] and fills[0]["price"] == 190.25
    code, out, _ = run("fills")
    assert code == 0 and "1,500" in out
    code, out, _ = run("pnl", "--day", "2024-02-02")
    assert code == 0 and "2024-02-02" in out and "1,000.00" in out
    daily = json.loads(run("pnl", "--json")[1])
    assert [d["day"] for d in daily] == ["2024-02-01", "2024-02-02"]
    assert daily[1]["pnl"] == pytest.approx(1000.0) and daily[1]["trades"] == 1
    assert json.loads(run("positions", "--run", "r0", "--json")[1]) == []


def test_export_trades(ledger_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    code, out, _ = run("export", "trades", "--csv", str(path))
    assert code == 0 and str(path.name) in out
    rows = list(csv.DictReader(path.open()))
    assert [(r["day"], r["symbol"], r["qty"]) for r in rows] == [("2024-02-02", "AAPL", "500")]
    pnl = 500 * (200 - 190.25) - 1.5 - 1.5 * 500 / 1500
    assert float(rows[0]["pnl"]) == pytest.approx(pnl)
    code, out, _ = run("export", "trades", "--csv", "-")  # to standard output, for a pipe
    assert code == 0 and out == path.read_text()


def test_kill_and_resume(ledger_home: Path) -> None:
    code, out, _ = run("kill", "--flatten", "--reason", "drawdown too deep")
    assert code == 0 and "halted" in out
    status = json.loads(run("status", "--json")[1])
    assert status["halted"] and status["halt"]["flatten"]
    assert status["halt"]["reason"] == "drawdown too deep"
    assert "HALTED" in run("status")[1]
    lg = Ledger.open(f"sqlite:///{ledger_home / 'ledger.db'}")
    halt = lg.halted()
    assert halt is not None and halt.by.startswith("cli")
    lg.close()
    code, out, _ = run("resume")
    assert code == 0 and "resumed" in out
    assert json.loads(run("status", "--json")[1])["halted"] is False
    assert "not halted" in run("resume")[1]


def test_kill_reduce_only(ledger_home: Path) -> None:
    code, out, _ = run("kill", "--reduce-only", "--reason", "wind down")
    assert code == 0 and "reduce only" in out
    status = json.loads(run("status", "--json")[1])
    assert status["halted"] and status["halt"]["reduce_only"] and not status["halt"]["flatten"]
    assert "REDUCE ONLY" in run("status")[1]
    assert "resumed" in run("resume")[1]
    assert json.loads(run("status", "--json")[1])["halted"] is False
    code, _, err = run("kill", "--reduce-only", "--flatten")
    one_line_error(code, err)
    assert "--reduce-only" in err and "--flatten" in err


def test_reduce_only_never_loosens_a_halt(ledger_home: Path) -> None:
    """HALTED then `kill --reduce-only` used to become REDUCE ONLY without a word: a kill that
    let orders out again."""
    assert run("kill", "--flatten", "--reason", "desk closed")[0] == 0
    code, _, err = run("kill", "--reduce-only", "--reason", "wind down")
    one_line_error(code, err)
    assert code == 2 and "trading is halted" in err and "alphaforge resume first" in err
    status = json.loads(run("status", "--json")[1])
    assert status["halted"] and not status["halt"]["reduce_only"] and status["halt"]["flatten"]
    assert run("kill", "--reason", "harder")[0] == 0  # tightening is always allowed
    assert run("resume")[0] == 0
    assert run("kill", "--reduce-only")[0] == 0


@pytest.mark.parametrize("flags", [(), ("--flatten",), ("--reduce-only",)])
def test_kill_without_runs_is_refused(home: Path, flags: tuple[str, ...]) -> None:
    """A home or ledger without runs (a mistyped --home, say) halts nothing: a switch armed
    there would say 'halted' while the runtime it was meant for goes on trading."""
    code, out, err = run("kill", *flags)
    one_line_error(code, err)
    assert code == 1 and "halted" not in out
    assert "no runs in the ledger sqlite:///" in err and "nothing was written" in err
    assert not (home / "ledger.db").exists()
    code, out, _ = run("status")
    assert code == 0 and "no runs yet" in out and "halted" not in out


@pytest.mark.parametrize(
    ("argv", "culprit"),
    [
        (["positions", "--run", "nope"], "--run nope"),
        (["pnl", "--day", "2019-02-30"], "2019-02-30"),
        (["orders", "--state", "done"], "--state done"),
        (["status", "--run", "nope"], "--run nope"),
    ],
)
def test_bad_input_is_one_line(ledger_home: Path, argv: list[str], culprit: str) -> None:
    code, _, err = run(*argv)
    one_line_error(code, err)
    assert culprit in err


def test_every_command_has_help() -> None:
    for cmd in (["status"], ["positions"], ["orders"], ["fills"], ["pnl"], ["export", "trades"],
                ["kill"], ["resume"]):  # fmt: skip
        code, out, _ = run(*cmd, "--help")
        assert code == 0 and "Usage" in out
