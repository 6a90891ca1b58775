"""Bad inputs are refused: a non-zero exit, one line on stderr naming the culprit, no traceback,
and the home directory exactly as it was.

``ROWS`` is the table: one row per bad input, the command line (after ``--home``) and the
words the error line must contain (the key, the value or the file). Placeholders ``{files}``
(a folder of prepared bad files, see :func:`files`) and ``{home}`` are filled in. Add a row
whenever a new bad input is found. ``API_ROWS`` does the same for ``alphaforge.backtest``.

A few tests at the end show the other side of the same fixes: what is refused by default runs
when asked for explicitly, and what used to be silent is now reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import alphaforge
from alphaforge.cli.app import app, normalize_argv
from alphaforge.core.errors import AlphaforgeError, ConfigError

pytestmark = pytest.mark.integration

SAMPLE = ("SYN01", "SYN02", "SYN03")
api_backtest = cast(Callable[..., Any], alphaforge.backtest)  # the package's lazy shortcut


# ---- the prepared home and files ----------------------------------------------------------------
def _invoke(home: Path, args: list[str]) -> Any:
    runner = CliRunner()
    return runner.invoke(app, normalize_argv(["--home", str(home), *args]), env={"COLUMNS": "200"})


def _bars(index: pd.DatetimeIndex, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
    return pd.DataFrame(
        {"timestamp": index, "open": close, "high": close * 1.01, "low": close * 0.99,
         "close": close, "volume": 1e6}
    )  # fmt: skip


USER_STRATEGIES = """
import numpy as np
from alphaforge.strategy.base import Signals, Strategy


class FloatMask(Strategy):
    name = "float_mask"

    def signals(self, data):
        return Signals(entries=data.close * np.nan, exits=np.zeros(data.close.shape))


class Boom(Strategy):
    name = "boom"

    def signals(self, data):
        return {"a": 1}["missing_key"]


class NegativeWarmup(Strategy):
    name = "negative_warmup"

    def warmup(self):
        return -5

    def signals(self, data):
        return Signals(entries=data.close > 0, exits=data.close < 0)


class Peeks(Strategy):
    name = "peeks"

    def signals(self, data):
        c = data.close
        nxt = np.vstack([c[1:], c[-1:]])  # tomorrow's close: look-ahead
        return Signals(entries=nxt > c, exits=nxt < c)
"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A home with the SYNTHETIC sample (3 equities, 2 years of daily bars) and one crypto
    pair, and a folder of bad files."""
    root = tmp_path_factory.mktemp("bad_inputs")
    home, files = root / "home", root / "files"
    files.mkdir()
    res = _invoke(home, ["data", "sample", "--symbols", "3", "--years", "2", "--no-intraday"])
    assert res.exit_code == 0, res.output
    crypto = _bars(pd.date_range("2014-01-01", periods=800, freq="D"))
    crypto.to_csv(files / "BTC-USD.csv", index=False)
    res = _invoke(home, ["data", "import", str(files / "BTC-USD.csv"), "--symbol", "BTC-USD"])
    assert res.exit_code == 0, res.output
    hourly = _bars(pd.date_range("2021-01-01", periods=300, freq="h", tz="UTC"))
    hourly.to_csv(files / "ETH-USD.csv", index=False)  # ETH-USD: 1h bars only
    res = _invoke(home, ["data", "import", str(files / "ETH-USD.csv"), "--symbol", "ETH-USD"])
    assert res.exit_code == 0, res.output

    daily = _bars(pd.bdate_range("2020-01-01", periods=60))
    daily["timestamp"] = daily["timestamp"].dt.strftime("%Y-%m-%d")
    daily.to_csv(files / "daily.csv", index=False)
    huge = daily.copy()
    huge.loc[7, "close"] = 1e308
    huge.to_csv(files / "huge.csv", index=False)
    (files / "list.json").write_text("[1, 2, 3]")
    (files / "no_metrics.json").write_text(
        json.dumps({"format": "alphaforge.backtest/1", "strategy": "x", "params": {},
                    "symbols": ["A"]})
    )  # fmt: skip
    (files / "no_series.json").write_text(
        json.dumps({"format": "alphaforge.backtest/1", "strategy": "x", "params": {},
                    "symbols": ["A"], "metrics": {}, "config": {}, "raw": {}})
    )  # fmt: skip
    (files / "not_json.json").write_text("{not json")
    (files / "a_file").write_text("I am a file")
    (files / "yesterday.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\nstart: yesterday\n"
    )
    (files / "typo.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\ncosts: {comission: 1%}\n"
    )
    (files / "list.yaml").write_text("- strategy\n- sma_cross\n")
    (files / "bench.yaml").write_text("benchmark: SPY\n")
    (files / "broken.yaml").write_text("strategy: [sma_cross\n")
    two = "- {strategy: sma_cross, allocation: 0.7}\n  - {strategy: ema_cross, allocation: 0.5}"
    (files / "over.yaml").write_text(f"symbols: [SYN01]\nstrategies:\n  {two}\n")
    (files / "both.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\nstrategies: [{strategy: ema_cross, "
        "allocation: 0.5}]\n"
    )
    (files / "sleeve_symbol.yaml").write_text(
        "symbols: [SYN01]\nstrategies: [{strategy: sma_cross, allocation: 0.5, symbols: [XX]}]\n"
    )
    (files / "sleeve_param.yaml").write_text(
        "symbols: [SYN01]\nstrategies: [{strategy: sma_cross, allocation: 0.5, "
        "params: {fsat: 3}}]\n"
    )
    (files / "cash_twice.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\ncash: 100000\ncash: 5\n"
    )
    (files / "month_13.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\nstart: 2019-13-01\n"
    )
    (files / "fill_close.yaml").write_text("strategy: sma_cross\nsymbols: [SYN01]\nfill: close\n")
    (files / "bad_param.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\nparams: {fsat: 3}\n"
    )
    (files / "account_alone.yaml").write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\naccount: {max_gross: 1}\n"
    )
    (files / "user.py").write_text(USER_STRATEGIES)
    (files / "outdir").mkdir()
    return home, files


@pytest.fixture
def home_and_files(seeded: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the seeded home for one test (a failed check cannot leak)."""
    home = tmp_path / "home"
    shutil.copytree(seeded[0], home)
    return home, seeded[1]


def tree_hash(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> content hash)."""
    return {
        str(p.relative_to(root)): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---- the table ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bad:
    id: str
    args: tuple[str, ...]
    names: tuple[str, ...]  # the error line contains each of these (case-insensitive)


def B(id: str, args: str, *names: str) -> Bad:  # reads as a table row
    return Bad(id, tuple(args.split()), names)


BT = "backtest sma_cross -s SYN01 -q"
SW = "sweep sma_cross -s SYN01 -q"
WF = "walkforward sma_cross -s SYN01 -q --train-len 100 --test-len 50"
PR = "paper --config"
REPLAY = "--replay --from 2020-01-02 --to 2020-03-31 -q"
# fmt: off
ROWS: list[Bad] = [
    # costs and cash: wrong results that used to exit 0
    B("slippage-bare-5", f"{BT} --slippage 5", "costs.slippage", "'5'"),
    B("slippage-500pct", f"{BT} --slippage 500%", "costs.slippage", "500%"),
    B("slippage-spread-250pct", f"{BT} --slippage spread=250%", "costs.slippage"),
    B("slippage-high", f"{BT} --slippage 20%", "costs.slippage", "allow_high"),
    B("slippage-atr-high", f"{BT} --slippage 3atr", "costs.slippage", "3atr"),
    B("commission-150pct", f"{BT} --commission 150%", "costs.commission", "150%"),
    B("commission-high", f"{BT} --commission 15%", "costs.commission", "allow_high"),
    B("commission-max-high", f"{BT} --commission 0.005/share,max=50%", "costs.commission"),
    B("commission-text", f"{BT} --commission lots", "commission", "lots"),
    B("cash-inf", f"{BT} --cash inf", "cash", "inf"),
    B("cash-nan", f"{BT} --cash nan", "cash", "nan"),
    B("cash-negative", f"{BT} --cash -5", "cash", "-5"),
    B("cash-zero", f"{BT} --cash 0", "cash"),
    B("cash-absurd", f"{BT} --cash 1e300", "cash", "1e+15"),
    B("fill-unknown", f"{BT} --fill tomorrow", "fill", "tomorrow"),
    B("param-unknown", f"{BT} --param nosuch=1", "nosuch"),
    # the universe
    B("no-symbols", "backtest sma_cross -q", "symbols"),
    B("mixed-calendars", "backtest sma_cross -s SYN01 BTC-USD -q", "calendar", "BTC-USD", "SYN01"),
    B("pairs-long-only", "backtest pairs_trading -s SYN01 SYN02 SYN03 -q", "direction", "long_short"),
    B("shorter-than-warmup", f"{BT} --start 2015-12-01", "warm-up", "50"),
    # dates
    B("start-feb-30", f"{BT} --start 2019-02-30", "start", "2019-02-30"),
    B("end-not-a-date", f"{BT} --end someday", "end", "someday"),
    B("yaml-start-yesterday", "backtest -c {files}/yesterday.yaml -q", "yesterday.yaml", "start"),
    B("sweep-start-feb-30", f"{SW} --start 2019-02-30", "start", "2019-02-30"),
    B("walkforward-start", f"{WF} --start yesterday", "start", "yesterday"),
    B("lookahead-start", "lookahead sma_cross -s SYN01 --start 2019-02-30", "start", "2019-02-30"),
    # config files
    B("config-missing", "backtest -c {files}/nope.yaml -q", "nope.yaml"),
    B("config-list", "backtest -c {files}/list.yaml -q", "list.yaml"),
    B("config-broken", "backtest -c {files}/broken.yaml -q", "broken.yaml", "line"),
    B("config-key-twice", "backtest -c {files}/cash_twice.yaml -q", "cash_twice.yaml", "line 4",
      "key 'cash' given twice"),
    B("config-month-13", "backtest -c {files}/month_13.yaml -q", "month_13.yaml", "start",
      "2019-13-01"),
    # output paths
    B("json-is-dir", f"{BT} --json {{files}}/outdir", "--json", "outdir"),
    B("report-is-dir", f"{BT} --report {{files}}/outdir", "--report", "outdir"),
    B("json-under-file", f"{BT} --json {{files}}/a_file/r.json", "--json", "a_file"),
    B("walkforward-json-dir", f"{WF} --json {{files}}/outdir", "--json"),
    B("sweep-export-dir", f"{SW} --export {{files}}/outdir", "--export"),
    B("sweep-out-is-file", f"{SW} --out {{files}}/a_file", "--out", "a_file"),
    B("lookahead-json-dir", "lookahead sma_cross -s SYN01 --json {files}/outdir", "--json"),
    B("data-check-json-dir", "data check --json {files}/outdir", "--json", "outdir"),
    B("trades-csv-dir", f"{BT} --trades-csv {{files}}/outdir", "--trades-csv", "outdir"),
    B("equity-csv-under-file", f"{BT} --equity-csv {{files}}/a_file/e.csv", "--equity-csv", "a_file"),
    B("strategy-new-dir-is-file", "strategy new my_strat --dir {files}/a_file", "--dir", "a_file"),
    # user strategies
    B("float-mask", "backtest {files}/user.py:FloatMask -s SYN01 -q", "entries", "bool"),
    B("float-mask-lookahead", "lookahead {files}/user.py:FloatMask -s SYN01", "entries", "bool"),
    B("signals-raises", "backtest {files}/user.py:Boom -s SYN01 -q", "user.py:", "missing_key"),
    B("negative-warmup", "backtest {files}/user.py:NegativeWarmup -s SYN01 -q", "warmup", "-5"),
    B("lookahead-fail", "backtest {files}/user.py:Peeks -s SYN01 -q --lookahead-fail", "look-ahead"),
    B("strategy-file-missing", "backtest {files}/nope.py:X -s SYN01 -q", "nope.py"),
    # optimisation
    B("sweep-random-negative", f"{SW} --random -5", "--random", "-5"),
    B("sweep-optuna-zero", f"{SW} --optuna 0", "--optuna"),
    B("sweep-workers-zero", f"{SW} --workers 0", "--workers", "0"),
    B("sweep-chunk-zero", f"{SW} --chunk 0", "--chunk"),
    B("sweep-all-invalid", f"{SW} --grid fast=50,60 --grid slow=10,20", "sweep", "refuses"),
    B("sweep-all-infeasible", f"{SW} --grid fast=5,10 --grid slow=20,30 --constraint num_trades>=100000",
      "num_trades>=100000"),
    B("walkforward-stride-zero", f"{WF} --stride 0", "--stride", "0"),
    B("walkforward-train-zero", "walkforward sma_cross -s SYN01 -q --train-len 0", "--train-len"),
    B("walkforward-all-invalid", f"{WF} --grid fast=50 --grid slow=20", "walk-forward"),
    B("walkforward-pairs-long", "walkforward pairs_trading -s SYN01 SYN02 -q", "direction"),
    B("sweep-min-trades-negative", f"{SW} --min-trades -1", "--min-trades", "-1"),
    B("walkforward-min-trades-negative", f"{WF} --min-trades -1", "--min-trades", "-1"),
    B("sweep-objective-no-module", f"{SW} --objective nosuch:fn", "--objective", "nosuch"),
    B("sweep-objective-no-file", f"{SW} --objective {{files}}/nope.py:fn", "--objective", "nope.py"),
    B("walkforward-objective-no-function", f"{WF} --objective {{files}}/user.py:nofn", "--objective", "nofn"),
    B("backtest-size-bare", f"{BT} --size 0.1", "--size", "0.1"),
    B("backtest-size-method", f"{BT} --size lots:3", "--size", "lots:3"),
    B("backtest-max-drawdown-20", f"{BT} --max-drawdown 20", "risk.max_drawdown", "20"),
    B("backtest-daily-loss-text", f"{BT} --daily-loss abc", "--daily-loss", "abc"),
    B("backtest-max-positions-zero", f"{BT} --max-positions 0", "risk.max_positions", "0"),
    B("backtest-per-symbol-one", f"{BT} --per-symbol", "--per-symbol", "SYN01"),
    # saved results
    B("report-list", "report {files}/list.json", "list.json", "list"),
    B("report-no-metrics", "report {files}/no_metrics.json", "no_metrics.json", "metrics"),
    B("report-no-series", "report {files}/no_series.json", "no_series.json", "series"),
    B("report-not-json", "report {files}/not_json.json", "not_json.json", "JSON"),
    B("report-dir", "report {files}/outdir", "outdir", "directory"),
    B("compare-list", "compare {files}/list.json {files}/no_series.json", "list.json"),
    B("compare-no-series", "compare {files}/no_series.json {files}/no_series.json", "series"),
    B("report-output-under-file", "report {files}/no_series.json --output {files}/a_file/r.html",
      "--output", "a_file"),
    B("compare-output-under-file",
      "compare {files}/no_series.json {files}/list.json --output {files}/a_file/c.html",
      "--output", "a_file"),
    B("compare-one-file", "compare {files}/no_series.json", "two"),
    # other settings and names (handled before this table existed; kept so they stay so)
    B("timeframe-unknown", f"{BT} --timeframe 2h", "timeframe", "2h"),
    B("timeframe-not-stored", f"{BT} --timeframe 1h", "SYN01", "1h"),
    B("direction-unknown", f"{BT} --direction sideways", "direction", "sideways"),
    B("symbol-unknown", "backtest sma_cross -s NOSUCH -q", "NOSUCH"),
    B("param-out-of-range", f"{BT} --param fast=-1", "fast", "-1"),
    B("data-file-missing", f"{BT} --data {{files}}/nothere.csv", "nothere.csv"),
    B("data-file-is-dir", f"{BT} --data {{files}}/outdir", "outdir", "directory"),
    B("config-unknown-key", "backtest -c {files}/typo.yaml -q", "typo.yaml", "costs.comission"),
    B("sweep-grid-text", f"{SW} --grid fast=a:b", "--grid", "fast=a:b"),
    B("sweep-constraint-garbage", f"{SW} --constraint garbage", "--constraint", "garbage"),
    B("sweep-objective-unknown", f"{SW} --objective nosuch", "--objective", "nosuch"),
    B("sweep-outside-benchmark", f"{SW} --config {{files}}/bench.yaml", "benchmark", "SPY"),
    B("walkforward-select-unknown", f"{WF} --select nope", "--select", "nope"),
    B("data-show-unknown", "data show NOSUCH", "NOSUCH"),
    # data
    B("check-outlier-negative", "data check --outlier-sigma -1", "--outlier-sigma", "-1"),
    B("import-1m-daily", "data import {files}/daily.csv --symbol DLY --timeframe 1m", "timeframe 1m",
      "daily.csv"),
    B("import-1e308", "data import {files}/huge.csv --symbol HUGE", "huge.csv", "close"),
    B("import-missing", "data import {files}/nope.csv --symbol X", "nope.csv"),
    B("import-second-of-two-bad", "data import {files}/daily.csv {files}/huge.csv", "huge.csv",
      "no file was imported"),
    B("data-rm-unknown", "data rm NOSUCH --yes", "NOSUCH"),
    B("data-rm-other-timeframe", "data rm SYN01 --timeframe 1h --yes", "SYN01", "1h", "1d"),
    B("data-rm-pattern-matches-none", "data rm ZZ* --yes", "ZZ*"),
    B("data-rm-not-confirmed", "data rm SYN01", "not confirmed", "--yes"),
    # hints that name the fix
    B("strategy-misspelt", "backtest sma_cros -s SYN01 -q", "sma_cros", "did you mean 'sma_cross'"),
    B("param-misspelt", f"{BT} --param fsat=3", "fsat", "did you mean 'fast'"),
    B("symbol-only-hourly", "backtest sma_cross -s ETH-USD -q", "ETH-USD", "try --timeframe 1h"),
    B("symbol-misspelt", "backtest sma_cross -s SYN0l -q", "SYN0l", "did you mean"),
    # the runtime
    B("paper-fill-close", f"{PR} {{files}}/fill_close.yaml {REPLAY}", "fill_close.yaml", "fill"),
    B("paper-param-misspelt", f"{PR} {{files}}/bad_param.yaml {REPLAY}", "fsat"),
    B("paper-live-param-misspelt", f"{PR} {{files}}/bad_param.yaml", "fsat"),
    # several strategies on one account
    B("account-over-allocated", f"{PR} {{files}}/over.yaml {REPLAY}", "over.yaml", "sum to 1.2"),
    B("account-and-strategy", f"{PR} {{files}}/both.yaml {REPLAY}", "both.yaml", "strategies:"),
    B("account-symbol-outside", f"{PR} {{files}}/sleeve_symbol.yaml {REPLAY}",
      "strategies[0].symbols", "XX"),
    B("account-param-misspelt", f"{PR} {{files}}/sleeve_param.yaml {REPLAY}", "fsat"),
    B("account-limits-alone", f"{PR} {{files}}/account_alone.yaml {REPLAY}", "account"),
    B("account-backtest", "backtest -c {files}/over.yaml -q", "over.yaml"),
    # saved runs
    B("runs-show-unknown", "runs show nope", "nope", "runs list"),
    B("runs-rm-unknown", "runs rm nope --yes", "nope"),
]
# fmt: on

TRACEBACK = re.compile(r"Traceback|^\s+File \"", re.MULTILINE)


def _args(row: Bad, home: Path, files: Path) -> list[str]:
    return [a.format(files=files, home=home) for a in row.args]


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in ROWS])
def test_bad_input_is_refused(row: Bad, home_and_files: tuple[Path, Path]) -> None:
    home, files = home_and_files
    before = tree_hash(home)
    files_before = tree_hash(files)
    res = _invoke(home, _args(row, home, files))
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        f"{row.id}: raised {res.exception!r}"
    )
    assert res.exit_code != 0, f"{row.id}: exit 0\n{res.output}"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"{row.id}: expected one line on stderr, got {res.stderr!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    for name in row.names:
        assert name.lower() in line.lower(), f"{row.id}: {name!r} not named in {line!r}"
    assert not TRACEBACK.search(res.output), f"{row.id}: traceback in output\n{res.output}"
    assert tree_hash(home) == before, f"{row.id}: the home changed"
    assert tree_hash(files) == files_before, f"{row.id}: the input files changed"


# ---- the Python API ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiBad:
    id: str
    kwargs: dict[str, Any]
    names: tuple[str, ...]
    strategy: str = "sma_cross"


API_ROWS = [
    ApiBad("slippage-bare-5", {"slippage": 5}, ("costs.slippage", "5")),
    ApiBad("slippage-text-5", {"slippage": "5"}, ("costs.slippage",)),
    ApiBad("commission-150pct", {"commission": "150%"}, ("costs.commission", "150%")),
    ApiBad("commission-high", {"commission": 0.2}, ("costs.commission", "allow_high")),
    ApiBad("cash-inf", {"cash": float("inf")}, ("cash", "inf")),
    ApiBad("cash-nan", {"cash": float("nan")}, ("cash", "nan")),
    ApiBad("cash-absurd", {"cash": 1e300}, ("cash", "1e+300")),
    ApiBad("pairs-long-only", {}, ("direction", "long_short"), strategy="pairs_trading"),
]


@pytest.fixture(scope="module")
def api_bars() -> pd.DataFrame:
    frames = []
    for k, sym in enumerate(("A", "B")):
        f = _bars(pd.bdate_range("2020-01-01", periods=300, tz="UTC"), seed=k)
        frames.append(f.assign(symbol=sym))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in API_ROWS])
def test_api_bad_input_raises_its_own_error(row: ApiBad, api_bars: pd.DataFrame) -> None:
    with pytest.raises(AlphaforgeError) as info:
        api_backtest(row.strategy, api_bars, **row.kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    for name in row.names:
        assert name.lower() in msg.lower(), f"{row.id}: {name!r} not in {msg!r}"


def test_api_high_costs_need_the_override(api_bars: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"costs\.commission"):
        api_backtest("sma_cross", api_bars, commission="20%")
    cheap = api_backtest("sma_cross", api_bars, commission="0.1%")
    dear = api_backtest(
        "sma_cross", api_bars, config={"costs": {"commission": "20%", "allow_high": True}}
    )
    assert dear.num_trades == cheap.num_trades > 0
    assert dear.metrics["fees"] > cheap.metrics["fees"]


# ---- what is refused by default runs when asked for; what was silent is reported -----------------
def _run_dirs(home: Path) -> list[Path]:
    runs = home / "runs"
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []


def test_high_costs_run_with_the_override(home_and_files: tuple[Path, Path]) -> None:
    home, _ = home_and_files
    res = _invoke(home, [*BT.split(), "--commission", "15%", "--allow-high-costs"])
    assert res.exit_code == 0, res.output
    (run,) = _run_dirs(home)
    doc = json.loads((run / "result.json").read_text())
    assert doc["config"]["costs"]["commission"] == "15%"
    assert doc["config"]["costs"]["allow_high"] is True


def test_two_runs_in_the_same_second_keep_both(home_and_files: tuple[Path, Path]) -> None:
    from alphaforge.cli.backtest import new_run_dir

    home, _ = home_and_files
    made = {new_run_dir(home / "runs", "sma_cross") for _ in range(3)}
    assert len(made) == 3 and all(p.is_dir() for p in made)
    outs = [_invoke(home, BT.split()) for _ in range(2)]
    assert all(r.exit_code == 0 for r in outs), [r.output for r in outs]
    saved = {re.search(r"result: (\S+)", r.stdout).group(1) for r in outs}  # type: ignore[union-attr]
    assert len(saved) == 2 and all(Path(p).exists() for p in saved)


def test_adjust_is_recorded_in_the_config_and_its_hash(
    home_and_files: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = home_and_files
    bars = _bars(pd.bdate_range("2020-01-01", periods=200))
    bars["adj_close"] = bars["close"] * np.linspace(0.5, 1.0, len(bars))  # dividends
    bars["timestamp"] = bars["timestamp"].dt.strftime("%Y-%m-%d")
    data = tmp_path / "ADJ.csv"
    bars.to_csv(data, index=False)
    docs = {}
    for flag in ("--adjust", "--no-adjust"):
        out = tmp_path / f"{flag}.json"
        args = ["backtest", "sma_cross", "--data", str(data), "--json", str(out), "-q", flag]
        res = _invoke(home, args)
        assert res.exit_code == 0, res.output
        docs[flag] = json.loads(out.read_text())
    assert docs["--adjust"]["config"]["adjust"] is True
    assert docs["--no-adjust"]["config"]["adjust"] is False
    hashes = {d["manifest"]["config_hash"] for d in docs.values()}
    assert len(hashes) == 2
    # the Python API has the same default as the CLI: adjusted prices from a file
    api = api_backtest("sma_cross", str(data))
    assert api.config["adjust"] is True
    assert api.final_equity == pytest.approx(docs["--adjust"]["final_equity"], rel=1e-12)
    raw = api_backtest("sma_cross", str(data), adjust=False)
    assert raw.final_equity == pytest.approx(docs["--no-adjust"]["final_equity"], rel=1e-12)


def test_rejected_orders_are_shown_with_their_reasons(home_and_files: tuple[Path, Path]) -> None:
    home, _ = home_and_files
    res = _invoke(home, ["backtest", "sma_cross", "-s", *SAMPLE, "--param", "fast=5",
                         "--param", "slow=20"])  # fmt: skip
    assert res.exit_code == 0, res.output
    (run,) = _run_dirs(home)
    orders = json.loads((run / "result.json").read_text())["raw"]["orders"]
    assert orders, "the run placed no orders"
    summary = re.search(r"(\d+) of (\d+) orders rejected: (.+)", res.stdout)
    assert summary is not None, res.stdout
    assert "insufficient_cash" in summary.group(3)


def test_lookahead_check_alone_records_and_passes(home_and_files: tuple[Path, Path]) -> None:
    home, files = home_and_files
    res = _invoke(home, ["backtest", f"{files}/user.py:Peeks", "-s", "SYN01", "--lookahead-check"])
    assert res.exit_code == 0, res.output
    assert "look-ahead check failed" in res.stdout


def test_broken_bars_are_noted_on_import(home_and_files: tuple[Path, Path], tmp_path: Path) -> None:
    home, _ = home_and_files
    bars = _bars(pd.bdate_range("2020-01-01", periods=30))
    bars.loc[5, "high"] = float(bars["low"].iloc[5]) - 1.0
    bars["timestamp"] = bars["timestamp"].dt.strftime("%Y-%m-%d")
    path = tmp_path / "HL.csv"
    bars.to_csv(path, index=False)
    res = _invoke(home, ["data", "import", str(path), "--symbol", "HL"])
    assert res.exit_code == 0, res.output
    assert re.search(r"line 7: high below low .*1 such row", " ".join(res.output.split()))


def test_unexpected_errors_name_the_users_frame() -> None:
    from alphaforge.cli.common import unexpected_error_text

    def inner() -> None:
        raise ValueError("bad thing")

    try:
        inner()
    except ValueError as exc:
        text = unexpected_error_text(exc)
    assert text.startswith(f"{__file__}:") and "ValueError: bad thing" in text


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``--debug`` in pytest's own argv must not turn one-line errors into tracebacks."""
    monkeypatch.setattr("sys.argv", [os.path.basename(__file__)])
    yield


def test_deliberate_exit_codes_pass_through(home_and_files: tuple[Path, Path]) -> None:
    """A command's own exit code (lookahead finding look-ahead exits 1) is not an error."""
    home, files = home_and_files
    res = _invoke(home, ["lookahead", f"{files}/user.py:Peeks", "-s", "SYN01"])
    assert res.exit_code == 1, res.output
    assert "error" not in res.stderr and "unexpected" not in res.output


def test_api_refuses_mixed_calendars_unless_one_is_given(api_bars: pd.DataFrame) -> None:
    crypto = _bars(pd.date_range("2020-01-01", periods=420, freq="D", tz="UTC"), seed=5)
    bars = pd.concat([api_bars, crypto.assign(symbol="BTC-USD")], ignore_index=True)
    with pytest.raises(ConfigError, match="BTC-USD"):
        api_backtest("sma_cross", bars)
    res = api_backtest("sma_cross", bars, calendar="24/7")
    assert res.config["calendar"] == "24/7"
