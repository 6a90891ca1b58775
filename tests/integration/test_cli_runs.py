"""``alphaforge runs list | show | rm`` on runs saved by real backtests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv

pytestmark = pytest.mark.integration


def cli(home: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(
        app, normalize_argv(["--home", str(home), *args]), input=input, env={"COLUMNS": "250"}
    )
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A home with two saved runs (one and two symbols) and a run folder whose JSON is broken."""
    root = tmp_path_factory.mktemp("runs")
    index = pd.bdate_range("2020-01-01", periods=260)
    frames = []
    for k, sym in enumerate(("AAA", "BBB")):
        close = 100 * np.exp(np.cumsum(np.random.default_rng(k).normal(0, 0.02, len(index))))
        frames.append(
            pd.DataFrame({"symbol": sym, "timestamp": index.strftime("%Y-%m-%d"), "open": close,
                          "high": close * 1.01, "low": close * 0.99, "close": close,
                          "volume": 1e6})
        )  # fmt: skip
    data = root / "bars.csv"
    pd.concat(frames).to_csv(data, index=False)
    home = root / "home"
    ids = []
    for symbols in (["AAA"], ["AAA", "BBB"]):
        code, out, err = cli(
            home, "backtest", "sma_cross", "--data", str(data), "-s", *symbols,
            "-p", "fast=5", "-p", "slow=20", "-q",
        )  # fmt: skip
        assert code == 0, err
        ids.append(Path(re.search(r"result: (\S+)", out).group(1)).parent.name)  # type: ignore[union-attr]
    broken = home / "runs" / "broken"
    broken.mkdir()
    (broken / "result.json").write_text("{")
    return home, ids


def _row(out: str, run_id: str) -> list[str]:
    line = next(ln for ln in out.splitlines() if ln.startswith(f"│ {run_id} "))
    return [c.strip() for c in line.split("│")[1:-1]]


def test_list_shows_every_run(saved: tuple[Path, list[str]]) -> None:
    home, ids = saved
    code, out, err = cli(home, "runs", "list")
    assert code == 0, err
    assert "3 run(s)" in out
    for run_id, symbols in zip(ids, ("AAA", "AAA, BBB"), strict=True):
        doc = json.loads((home / "runs" / run_id / "result.json").read_text())
        expected_return = doc["final_equity"] / doc["config"]["cash"] - 1  # by hand
        stamp = pd.Timestamp(f"{run_id[:8]}T{run_id[9:15]}")
        assert _row(out, run_id) == [
            run_id, "sma_cross", symbols, "2020-01-01 → 2020-12-29",
            f"{expected_return:.2%}", f"{doc['metrics']['sharpe']:.2f}",
            f"{stamp:%Y-%m-%d %H:%M:%S}",
        ]  # fmt: skip
    assert _row(out, "broken")[1:3] == ["?", ""]
    assert "note: broken:" in out and "not a readable result JSON" in out


def test_show_prints_summary_metrics_and_files(saved: tuple[Path, list[str]]) -> None:
    home, ids = saved
    code, out, err = cli(home, "runs", "show", ids[1])
    assert code == 0, err
    doc = json.loads((home / "runs" / ids[1] / "result.json").read_text())
    assert f"{ids[1]}: sma_cross {{'fast': 5, 'slow': 20}} on AAA, BBB" in out
    assert "2020-01-01 → 2020-12-29 (1d)" in out
    assert re.search(rf"Trades\s+│\s+{doc['num_trades']}\s", out)
    assert re.search(rf"Final equity\s+│\s+{doc['final_equity']:,.2f}\s", out)
    size = (home / "runs" / ids[1] / "result.json").stat().st_size
    assert re.search(rf"result\.json\s+│\s+{size:,}\s", out)


def test_unknown_runs_are_refused(saved: tuple[Path, list[str]]) -> None:
    home, ids = saved
    code, _, err = cli(home, "runs", "show", ids[0][:-1])
    assert code == 2  # bad input: a run id that names no run
    assert err.strip().splitlines() == [
        f"error: unknown run {ids[0][:-1]!r}; did you mean {ids[0]!r}? `alphaforge runs list` "
        f"shows the 3 run(s) in {home / 'runs'}"
    ]
    before = sorted(p.name for p in (home / "runs").iterdir())
    code, _, err = cli(home, "runs", "rm", ids[0], "nope", "--yes")
    assert code == 2 and "unknown run 'nope'" in err
    assert sorted(p.name for p in (home / "runs").iterdir()) == before


def test_rm_asks_then_removes_whole_runs(tmp_path: Path, saved: tuple[Path, list[str]]) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(saved[0], home)
    ids = saved[1]
    code, out, err = cli(home, "runs", "rm", ids[0], input="n\n")
    assert code == 1 and "nothing removed" in err
    assert (home / "runs" / ids[0] / "result.json").exists()
    code, out, err = cli(home, "runs", "rm", ids[0], "broken", input="y\n")
    assert code == 0, err
    assert "removed 2 run(s)" in out
    assert sorted(p.name for p in (home / "runs").iterdir()) == [ids[1]]  # no hidden leftovers
    code, out, _ = cli(home, "runs", "list")
    assert "1 run(s)" in out and f"│ {ids[0]} " not in out and f"│ {ids[1]} " in out
    code, out, _ = cli(tmp_path / "empty", "runs", "list")
    assert code == 0 and "no saved runs" in out
