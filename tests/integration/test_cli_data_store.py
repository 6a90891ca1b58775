"""``alphaforge data import | list | show`` through the real CLI app."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.config.settings import AppSettings
from alphaforge.data.store import ParquetStore
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration

runner = CliRunner()


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_help_on_every_command() -> None:
    for cmd in ("import", "list", "show"):
        result = runner.invoke(app, ["data", cmd, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


@pytest.mark.slow
def test_acceptance_import_shared_equities_list_show_and_reimport(tmp_path: Path) -> None:
    src_path = shared_data_file("us_equities_daily.parquet")
    home = tmp_path / "home"
    code, out = cli(home, "data", "import", str(src_path))
    assert code == 0, out
    assert "inserted=1792419 updated=0" in out
    code, out = cli(home, "data", "list")
    assert code == 0, out
    assert "400 series" in out
    assert re.search(r"MSFT\s+│\s+1d", out)
    store = ParquetStore(AppSettings(home=home).store_dir)
    assert len(store.list("1d")) == 400
    source = pd.read_parquet(src_path)
    msft = source[source["symbol"] == "MSFT"].reset_index(drop=True)
    got = store.read(["MSFT"], "1d")
    # Naive source dates are session dates: stored as the same date at 00:00 UTC.
    assert (
        got["timestamp"].tolist() == pd.DatetimeIndex(msft["timestamp"]).tz_localize("UTC").tolist()
    )
    for col in ("open", "high", "low", "close", "adj_close"):
        np.testing.assert_array_equal(got[col].to_numpy(), msft[col].to_numpy(), err_msg=col)
    np.testing.assert_array_equal(got["volume"].to_numpy(), msft["volume"].to_numpy(dtype=float))
    code, out = cli(home, "data", "import", str(src_path))
    assert code == 0, out
    assert "inserted=0 updated=0" in out
    code, out = cli(home, "data", "show", "MSFT", "--tail", "2")
    assert code == 0, out
    assert "2019-12-31" in out and "5,074 bars" in out


def test_import_per_symbol_csv_with_tz_and_show(tmp_path: Path) -> None:
    csv = tmp_path / "spy_minutes.csv"
    csv.write_text(
        "Datetime,Open,High,Low,Close,Volume\n"
        "2021-07-01 09:30:00,430,431,429,430.5,1000\n"
        "2021-07-01 09:31:00,430.5,432,430,431,800\n"
    )
    home = tmp_path / "home"
    code, out = cli(home, "data", "import", str(csv), "--symbol", "SPY", "--tz", "America/New_York")
    assert code == 0, out
    assert "inserted=2" in out
    code, out = cli(home, "data", "show", "SPY", "--timeframe", "1m")
    assert code == 0, out
    assert "2021-07-01 13:30" in out  # 09:30 EDT = 13:30 UTC
    code, out = cli(home, "data", "list", "--timeframe", "1m")
    assert code == 0 and "SPY" in out


def test_naive_intraday_without_tz_says_utc_was_assumed(tmp_path: Path) -> None:
    csv = tmp_path / "X.csv"
    csv.write_text(
        "time,open,high,low,close,volume\n2021-07-01 13:30,1,1,1,1,1\n2021-07-01 13:31,1,1,1,1,1\n"
    )
    code, out = cli(tmp_path / "h", "data", "import", str(csv))
    assert code == 0, out
    assert "taken as UTC" in out


def test_bad_file_fails_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "A.csv"
    good.write_text("date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\n")
    bad = tmp_path / "B.csv"
    bad.write_text("date;open;high;low;close;volume\n2020-01-02;1;1;1;1;1\n")
    home = tmp_path / "home"
    code, out = cli(home, "data", "import", str(bad))
    assert code == 2  # bad input (a file that is not CSV of bars), not a failed run
    assert "looks like ';'-delimited" in out
    assert "Traceback" not in out
    code, out = cli(home, "data", "list")
    assert code == 0 and "empty" in out
    code, out = cli(home, "data", "show", "NOPE")
    assert code == 2 and "unknown symbol 'NOPE'" in out  # bad input
    code, out = cli(home, "data", "import", str(good), "--on-duplicate", "maybe")
    assert code == 2 and "--on-duplicate" in out
