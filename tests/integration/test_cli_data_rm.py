"""``alphaforge data rm``: remove series from the store, refuse unknown symbols, ask first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.config.settings import AppSettings
from alphaforge.data.store import ParquetStore

pytestmark = pytest.mark.integration


def _bars(symbol: str, n: int, freq: str) -> pd.DataFrame:
    c = 10.0 + np.arange(n)
    ts = pd.date_range("2021-01-04", periods=n, freq=freq, tz="UTC")
    return pd.DataFrame(
        {"symbol": symbol, "timestamp": ts, "open": c, "high": c, "low": c, "close": c,
         "volume": 1.0}
    )  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = ParquetStore(AppSettings(home=home).store_dir)
    daily = [_bars(s, 5, "D") for s in ("AAA", "BBB", "SYN01", "SYN02")]
    store.write(pd.concat(daily), "1d")
    store.write(_bars("AAA", 7, "h"), "1h")
    return home


def _series(home: Path) -> list[tuple[str, str, int]]:
    store = ParquetStore(AppSettings(home=home).store_dir)
    return [(i.symbol, i.timeframe, i.rows) for i in store.list()]


def cli(home: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["--home", str(home), *args], input=input, env={"COLUMNS": "200"})
    return res.exit_code, res.stdout, res.stderr


def test_rm_one_timeframe_then_every_timeframe(home: Path) -> None:
    code, out, err = cli(home, "data", "rm", "AAA", "--timeframe", "1h", "--yes")
    assert code == 0, err
    assert "removed 1 series (7 bars)" in out
    assert ("AAA", "1h", 7) not in _series(home) and ("AAA", "1d", 5) in _series(home)
    code, out, err = cli(home, "data", "rm", "AAA", "BBB", "-y")
    assert code == 0, err
    assert _series(home) == [("SYN01", "1d", 5), ("SYN02", "1d", 5)]


def test_rm_a_pattern_asks_first(home: Path) -> None:
    code, out, err = cli(home, "data", "rm", "SYN*", input="n\n")
    assert code == 1
    assert "SYN01" in out and "SYN02" in out  # the series it would remove are listed
    assert err.strip() == "error: not confirmed; nothing removed (--yes removes without asking)"
    assert len(_series(home)) == 5
    code, out, err = cli(home, "data", "rm", "SYN*", input="y\n")
    assert code == 0, err
    assert "removed 2 series (10 bars)" in out
    assert [s for s, _, _ in _series(home)] == ["AAA", "BBB", "AAA"]


def test_unknown_symbols_are_refused_and_nothing_is_removed(home: Path) -> None:
    before = _series(home)
    for args, message in [
        (("BBB", "NOPE"), "unknown symbol 'NOPE': not in the store"),
        (("BBX",), "did you mean 'BBB'?"),
        (("BBB", "--timeframe", "1h"), "unknown symbol 'BBB' for timeframe 1h: it has 1d"),
        (("ZZ*",), "'ZZ*': no stored symbol matches"),
    ]:
        code, _, err = cli(home, "data", "rm", *args, "--yes")
        assert code == 2, (args, err)  # a symbol given that is not stored: bad input
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert _series(home) == before
