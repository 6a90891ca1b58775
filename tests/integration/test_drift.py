"""``alphaforge drift``: a replay against the backtest of its period, through the CLI."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.drift import drift_report, inherent_differences

pytestmark = pytest.mark.integration
runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper_sma.yaml"
SHIFT = 0.02  # the tampered entry's price moves up 2 %


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the sample market and one replay of examples/paper_sma.yaml."""
    h = tmp_path_factory.mktemp("home")
    res = runner.invoke(app, ["--home", str(h), "data", "sample"])
    assert res.exit_code == 0, res.output
    args = ["--home", str(h), "paper", "--config", str(EXAMPLE), "--replay", "--from",
            "2016-01-04", "--to", "2019-12-31", "--run-id", "sma-replay", "-q"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return h


def _copy_ledger(home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ledger.db"
    shutil.copy(home / "ledger.db", copy)
    return copy


def _drift(home: Path, *args: str, ledger: Path | None = None) -> tuple[int, str]:
    env = {"ALPHAFORGE_LEDGER_URL": f"sqlite:///{ledger}"} if ledger else None
    res = runner.invoke(app, ["--home", str(home), "drift", *args], env=env)
    return res.exit_code, res.output


def test_replay_is_within_tolerance_with_every_trade_matched(home: Path, tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "drift.json", tmp_path / "trades.csv"
    code, output = _drift(home, "--json", str(out_json), "--csv", str(out_csv))
    assert code == 0, output
    assert "WITHIN TOLERANCE" in output and "Traceback" not in output
    report = json.loads(out_json.read_text())
    assert report["run_id"] == "sma-replay" and report["within_tolerance"] is True
    assert report["run_only"] == [] and report["backtest_only"] == []
    assert len(report["matched"]) == 9
    for m in report["matched"]:
        assert abs(m["entry_diff_bps"]) < 1e-6 and abs(m["exit_diff_bps"]) < 1e-6
        assert m["qty_diff"] == 0 and m["reasons_agree"] is True
        assert m["fees_run"] == pytest.approx(m["fees_backtest"], abs=1e-9)
        assert m["slippage_run"] == pytest.approx(m["slippage_backtest"], rel=1e-9)
    assert {m["exit_reason_run"] for m in report["matched"]} == {"stop_loss", "take_profit"}
    r, c = report["returns"], report["costs"]
    assert r["bars"] == 1006 and r["bars_run_only"] == r["bars_backtest_only"] == 0
    assert abs(r["return_diff"]) < 1e-12 and r["tracking_error"] < 1e-9
    assert r["max_equity_gap"] < 1e-6
    assert c["fees_run"] == pytest.approx(c["fees_backtest"], rel=1e-9)
    assert c["slippage_run"] == pytest.approx(c["slippage_backtest"], rel=1e-9)
    assert report["inherent"] == []  # the simulated venue fills with the backtest's rules
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 9 and {row["status"] for row in rows} == {"matched"}


def test_verdict_allows_the_larger_of_relative_tolerance_and_floor(home: Path) -> None:
    with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
        report = drift_report(ledger, "sma-replay", AppSettings(home=home), tolerance=0.05)
    assert report.returns.return_backtest == pytest.approx(-0.0297, abs=1e-4)
    assert report.allowed_return_diff == 0.005  # 5 % of 2.97 % is below the 0.5 pp floor
    big = replace(report.returns, return_backtest=0.40, final_equity_backtest=140_000.0)
    relative = replace(report, returns=big)
    assert relative.allowed_return_diff == pytest.approx(0.02)  # 5 % of a 40 % return
    assert not relative.returns_ok and not relative.within_tolerance
    assert "return differs" in relative.failures()[0]


def test_inherent_differences_follow_the_run_config(home: Path) -> None:
    with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
        run = ledger.run("sma-replay")
    assert run is not None
    spec = RunSpec.model_validate(json.loads(run.config_text))
    assert inherent_differences(spec, run) == ()
    spec.costs.participation = 0.1
    spec.runtime.window = 50
    notes = inherent_differences(spec, replace(run, mode="paper", venue="alpaca"))
    for needle in ("fills at alpaca", "protective stop", "stop_first", "participation-capped",
                   "runtime.window 50", "as they arrived", "sized with that close"):  # fmt: skip
        assert any(needle in n for n in notes), needle
    assert not any("reversals at alpaca" in n for n in notes)  # a long-only run
    spec.direction = "long_short"
    notes = inherent_differences(spec, replace(run, mode="paper", venue="alpaca"))
    assert any("no position through zero in one order" in n for n in notes)


def _tamper_first_entry(db: Path) -> tuple[str, float]:
    """Move the run's first entry fill up by SHIFT and its equity down by what that costs from
    the entry bar on, as a run that paid more on that fill would show. Returns (bar, cost)."""
    con = sqlite3.connect(db)
    try:
        fid, qty, price, ts = con.execute(
            "SELECT id, qty, price, ts FROM fills WHERE run_id = 'sma-replay' AND side = 'buy' "
            "ORDER BY ts, id LIMIT 1"
        ).fetchone()
        cost = float(qty) * float(price) * SHIFT
        con.execute("UPDATE fills SET price = ? WHERE id = ?", (float(price) * (1 + SHIFT), fid))
        con.execute(
            "UPDATE equity_snapshots SET equity = equity - ?, cash = cash - ? "
            "WHERE run_id = 'sma-replay' AND bar >= ?",
            (cost, cost, ts),
        )
        con.commit()
    finally:
        con.close()
    return ts, cost


def test_a_moved_fill_price_is_reported_and_fails(home: Path, tmp_path: Path) -> None:
    db = _copy_ledger(home, tmp_path)
    bar, cost = _tamper_first_entry(db)
    out_json = tmp_path / "drift.json"
    code, output = _drift(home, "sma-replay", "--json", str(out_json), ledger=db)
    assert code == 1, output
    assert "OUT OF TOLERANCE" in output and "return differs" in output
    report = json.loads(out_json.read_text())
    assert report["within_tolerance"] is False and report["backtest_only"] == []
    moved = [m for m in report["matched"] if abs(m["entry_diff_bps"]) > 1e-6]
    assert len(moved) == 1 and moved[0]["entry_time"] == bar
    assert moved[0]["entry_diff_bps"] == pytest.approx(SHIFT * 1e4, rel=1e-6)
    assert moved[0]["pnl_diff"] == pytest.approx(-cost, rel=1e-6)
    assert report["returns"]["return_diff"] == pytest.approx(-cost / 100_000, rel=1e-6)
    assert "+200.00" in output  # the trade's entry difference in the table


def test_a_missing_round_trip_is_unmatched(home: Path, tmp_path: Path) -> None:
    db = _copy_ledger(home, tmp_path)
    con = sqlite3.connect(db)
    last_entry = con.execute(
        "SELECT client_id FROM fills WHERE side = 'buy' ORDER BY ts DESC LIMIT 1"
    ).fetchone()[0]
    con.execute("DELETE FROM fills WHERE client_id IN (?, ?)", (last_entry, last_entry + "-p"))
    con.commit()
    con.close()
    with Ledger.open(f"sqlite:///{db}") as ledger:
        report = drift_report(ledger, "sma-replay", AppSettings(home=home))
    assert len(report.matched) == 8 and len(report.backtest_only) == 1
    assert report.run_only == () and not report.within_tolerance
    assert "1 trade(s) only in the backtest" in report.verdict()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["no-such-run"], "no-such-run"),
        (["--json", "."], "--json"),
        (["--tolerance", "lots"], "--tolerance"),
        (["--tolerance", "-5%"], "--tolerance"),
        (["--json", "@d.json", "--csv", "@d.json"], "the same file as --json"),  # (CSV won)
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    home: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    args = [str(tmp_path) if a == "." else a for a in args]
    args = [str(tmp_path / a[1:]) if a.startswith("@") else a for a in args]
    code, output = _drift(home, *args)
    assert code == 2, output
    assert needle in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1


def test_an_empty_ledger_says_so(tmp_path: Path) -> None:
    code, output = _drift(tmp_path)
    assert code == 1 and "no runs yet" in output and "Traceback" not in output


class _Crash(Exception):
    """The process dying in the middle of a replay."""


def test_a_run_stopped_early_is_compared_over_its_own_bars(home: Path, tmp_path: Path) -> None:
    """A replay that died after a year of its four was compared with the backtest of all four:
    the trades it never reached were 'only in the backtest', and the verdict was out of
    tolerance on returns equal to the cent."""
    from alphaforge.config.specs import load_run_spec
    from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

    settings = AppSettings(home=home, ledger_url=f"sqlite:///{tmp_path / 'cut.db'}")
    spec = load_run_spec(EXAMPLE)
    with Ledger.open(settings.ledger_url_resolved) as ledger:
        setup = build_replay(spec, settings, ledger,
                             ReplayRequest("2016-01-04", "2019-12-31", None, "cut"))  # fmt: skip
        stop_at = int(setup.panel.index.searchsorted(pd.Timestamp("2017-06-30", tz="UTC")))

        def crash(t: int, _equity: float) -> None:
            if t == stop_at - 60:  # a slow moment: the batch commits (batch_seconds)
                time.sleep(0.3)
            if t >= stop_at:
                raise _Crash

        try:
            with pytest.raises(_Crash):
                run_replay(setup, None, crash)
        finally:
            setup.close()
        report = drift_report(ledger, "cut", settings)
        last = ledger.last_bar("cut")
    assert last is not None and pd.Timestamp(last) < pd.Timestamp("2017-06-30", tz="UTC")
    assert report.warnings[0].startswith(f"run cut stopped at {pd.Timestamp(last).isoformat()} "
                                         "before its last bar 2019-12-31")  # fmt: skip
    assert report.end == pd.Timestamp(last).isoformat()
    assert report.backtest_only == () and report.run_only == ()
    assert report.matched and report.within_tolerance


def test_an_exit_filled_in_parts_is_one_trade(home: Path, tmp_path: Path) -> None:
    """With a volume cap the backtest records an exit filled over several bars as a trade per
    part; drift listed the parts as 'only in the backtest'."""
    from alphaforge.services.drift_compare import _merge_backtest

    bt = pd.DataFrame({
        "symbol": ["A", "A", "B"], "direction": ["long"] * 3,
        "entry_time": pd.to_datetime(["2018-03-01", "2018-03-01", "2018-03-02"], utc=True),
        "exit_time": pd.to_datetime(["2018-04-02", "2018-04-03", "2018-04-05"], utc=True),
        "quantity": [5968.0, 358.0, 10.0], "entry_price": [100.0, 100.0, 50.0],
        "exit_price": [93.0, 21.0, 55.0], "exit_reason": ["signal", "signal", "stop_loss"],
        "fees": [1.0, 0.5, 0.1], "slippage": [2.0, 1.0, 0.2], "pnl": [-41778.0, -28282.0, 50.0],
    })  # fmt: skip
    one = _merge_backtest(bt)
    assert len(one) == 2
    a = one.iloc[0]
    assert a["quantity"] == 6326.0 and a["pnl"] == -41778.0 - 28282.0
    assert a["exit_price"] == pytest.approx((5968 * 93.0 + 358 * 21.0) / 6326)
    assert a["exit_time"] == pd.Timestamp("2018-04-03", tz="UTC") and a["fees"] == 1.5
    assert one.iloc[1].to_dict() == bt.iloc[2].to_dict()  # one part: as it was
