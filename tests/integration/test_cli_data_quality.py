"""``alphaforge data check`` and ``alphaforge data sample`` through the Typer CLI runner.

Stores live in a fresh temporary ``ALPHAFORGE_HOME`` per test (fixture ``home``). Planted defects
are counted by construction; the real-data case uses facts from the shared data README.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.config.settings import AppSettings
from alphaforge.services.store import open_store
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration


def run(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def bars(symbol: str, days: list[str]) -> pd.DataFrame:
    closes = np.linspace(10.0, 11.0, len(days))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": pd.DatetimeIndex(days, tz="UTC"),
            "open": closes,
            "high": closes + 0.1,
            "low": closes - 0.1,
            "close": closes,
            "volume": 100.0,
        }
    )


# 2024-07-01 .. 2024-07-09: seven NYSE sessions (07-04 holiday; 07-06/07 weekend).
WEEK = ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08", "2024-07-09"]


def test_check_clean_store(home: Path) -> None:
    open_store(AppSettings(home=home)).write(bars("AAA", WEEK), "1d")
    code, out = run(home, "data", "check", "--strict")
    assert code == 0, out
    assert "no issues" in out


def test_check_reports_planted_defects_and_strict_fails(home: Path, tmp_path: Path) -> None:
    store = open_store(AppSettings(home=home))
    defective = bars("BAD", [d for d in WEEK if d != "2024-07-02"])  # one missing session
    defective.loc[0, "volume"] = 0.0  # one zero-volume bar
    store.write(pd.concat([bars("AAA", WEEK), defective]), "1d")
    report_path = tmp_path / "out" / "report.json"
    code, out = run(home, "data", "check", "--strict", "--json", str(report_path))
    assert code == 1
    assert "BAD" in out and "gaps" in out and "zero volume" in out and "total" in out
    assert "1 symbols without issues" in out  # AAA
    payload = json.loads(report_path.read_text())
    assert payload["ok"] is False and payload["symbols"] == 2
    assert payload["totals"]["gaps"] == 1 and payload["totals"]["zero_volume"] == 1
    gaps = [i for i in payload["issues"] if i["check"] == "gaps"]
    assert gaps == [
        {
            "symbol": "BAD",
            "check": "gaps",
            "severity": "warning",
            "count": 1,
            "examples": ["2024-07-02T00:00:00"],
        }
    ]
    # Without --strict the same findings exit 0; one symbol can be selected.
    code, out = run(home, "data", "check", "AAA")
    assert code == 0 and "no issues" in out


def test_check_unknown_symbol_and_empty_store(home: Path) -> None:
    code, out = run(home, "data", "check")
    assert code != 0 and "no 1d bars" in out
    open_store(AppSettings(home=home)).write(bars("AAA", WEEK), "1d")
    code, out = run(home, "data", "check", "ZZZ")
    assert code != 0 and "ZZZ" in out
    assert len(out.strip().splitlines()) == 1  # a one-line error


def test_check_raw_parquet_file_keeps_duplicates(home: Path, tmp_path: Path) -> None:
    raw = bars("BTC/USD", ["2024-03-01", "2024-03-02", "2024-03-03"])
    raw = pd.concat([raw, raw.iloc[[1]].assign(close=10.4)], ignore_index=True)
    path = tmp_path / "raw.parquet"
    raw.to_parquet(path)
    code, out = run(home, "data", "check", "--file", str(path), "--timeframe", "1d", "--strict")
    assert code == 1
    # A weekend is fine for a crypto pair (24/7); the repeated key is one surplus row.
    assert "duplicates" in out and "24/7" in out and "gaps" not in out


def test_check_raw_csv_file(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "aaa.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-07-01,10,11,9,10.5,100\n"
        "2024-07-02,10.5,10.2,9,10,100\n"  # high 10.2 < open 10.5: open outside [low, high]
        "2024-07-03,10,11,9,10.5,100\n"
    )
    code, out = run(home, "data", "check", "--file", str(path))
    assert code == 0, out
    assert "AAA" in out and "ohlc range" in out


def test_check_missing_file(home: Path, tmp_path: Path) -> None:
    code, out = run(home, "data", "check", "--file", str(tmp_path / "nope.csv"))
    assert code != 0 and "nope.csv" in out


@pytest.mark.slow
def test_sample_writes_synthetic_market(home: Path) -> None:
    code, out = run(home, "data", "sample", "--seed", "3", "--symbols", "6", "--years", "2")
    assert code == 0, out
    assert "SYNTHETIC" in out
    infos = open_store(AppSettings(home=home)).list()
    daily = {i.symbol for i in infos if i.timeframe == "1d"}
    minute = {i.symbol for i in infos if i.timeframe == "1m"}
    assert daily == {"SYN01", "SYN02", "SYN03", "SYN04", "SYN05", "SYN06", "SYNIDX"}
    assert minute == {"SYN01", "SYN02", "SYN03", "SYN04", "SYN05"}
    # Re-running with the same seed rewrites identical bars: the store keeps the same rows.
    rows = {(i.symbol, i.timeframe): i.rows for i in infos}
    code, out = run(home, "data", "sample", "--seed", "3", "--symbols", "6", "--years", "2")
    assert code == 0
    again = open_store(AppSettings(home=home)).list()
    assert {(i.symbol, i.timeframe): i.rows for i in again} == rows
    code, out = run(home, "data", "check", "--timeframe", "1m", "--json", str(home / "q.json"))
    assert code == 0
    totals = json.loads((home / "q.json").read_text())["totals"]
    for check in ("duplicates", "nan", "high_low", "ohlc_range", "gaps", "off_calendar"):
        assert totals[check] == 0, check


@pytest.mark.slow
def test_check_whole_imported_equities_store(home: Path) -> None:
    frame = pd.read_parquet(shared_data_file("us_equities_daily.parquet"))
    open_store(AppSettings(home=home)).write(frame, "1d")
    code, out = run(home, "data", "check", "--json", str(home / "eq.json"))
    assert code == 0, out
    payload = json.loads((home / "eq.json").read_text())
    # README facts: 400 symbols, 1,792,419 rows, vol0 179, 22 missing sessions over 4 symbols,
    # no broken bars.
    assert payload["symbols"] == 400 and payload["rows"] == 1_792_419
    assert payload["totals"]["zero_volume"] == 179
    assert payload["totals"]["gaps"] == 22
    assert len({i["symbol"] for i in payload["issues"] if i["check"] == "gaps"}) == 4
    for check in ("duplicates", "nan", "high_low", "ohlc_range", "non_positive"):
        assert payload["totals"][check] == 0
