"""Results from Python: ``.plot()`` figures hold the equity, ``.report()`` writes the tear
sheet, ``compare`` lines metrics up, the store, look-ahead and walk-forward functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.analytics.metric_info import format_metric
from alphaforge.core.errors import ConfigError, DataError, StrategyError
from alphaforge.sim.result import BacktestResult


@pytest.fixture(scope="module")
def result(one: pd.DataFrame) -> BacktestResult:
    return alphaforge.backtest("sma_cross", one, params={"fast": 10, "slow": 40})


def test_plot_holds_equity_and_drawdown(result: BacktestResult) -> None:
    fig = result.plot()
    traces = {t.name: t for t in fig.data}
    np.testing.assert_array_equal(np.asarray(traces["Strategy"].y), result.equity_values)
    eq = result.equity_values
    peak = np.maximum.accumulate(eq)
    np.testing.assert_allclose(np.asarray(traces["Drawdown"].y), eq / peak - 1.0)
    assert float(np.min(traces["Drawdown"].y)) == pytest.approx(result.metrics["max_drawdown"])
    assert "sma_cross(fast=10, slow=40)" in fig.layout.title.text


def test_report_writes_the_tear_sheet(result: BacktestResult, tmp_path: Path) -> None:
    out = result.report(tmp_path / "deep" / "sheet.html")
    assert out == tmp_path / "deep" / "sheet.html"
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    for key in ("sharpe", "total_return", "max_drawdown"):
        assert format_metric(key, result.metrics[key]) in html
    assert alphaforge.report(result, tmp_path / "again.html").exists()


def test_compare_lines_metrics_up(one: pd.DataFrame, result: BacktestResult,
                                  tmp_path: Path) -> None:  # fmt: skip
    other = alphaforge.backtest("sma_cross", one, params={"fast": 5, "slow": 20})
    saved = other.to_json(tmp_path / "other.json")
    table = alphaforge.compare(result, saved, names=["a", "b"], path=tmp_path / "cmp.html")
    assert list(table.columns) == ["a", "b"]
    assert table.loc["sharpe", "a"] == pytest.approx(result.metrics["sharpe"])
    assert table.loc["num_trades", "b"] == other.metrics["num_trades"]
    assert (tmp_path / "cmp.html").exists()
    with pytest.raises(ConfigError, match="at least two results"):
        alphaforge.compare(result)
    with pytest.raises(ConfigError, match=r"results\[1\]=int"):
        alphaforge.compare(result, 3)


def test_load_result_names_the_missing_key(tmp_path: Path, result: BacktestResult) -> None:
    again = alphaforge.load_result(result.to_json(tmp_path / "r.json"))
    assert again.metrics["sharpe"] == pytest.approx(result.metrics["sharpe"])
    (tmp_path / "bad.json").write_text('{"format": "alphaforge.backtest/1"}')
    with pytest.raises(
        DataError, match=r"bad\.json: not an alphaforge backtest result: no 'strategy'"
    ):
        alphaforge.load_result(tmp_path / "bad.json")


def test_lookahead_flags_a_peeking_strategy(one: pd.DataFrame, tmp_path: Path) -> None:
    clean = alphaforge.lookahead("sma_cross", one, params={"fast": 5, "slow": 20}, cuts=5)
    assert clean.ok
    path = tmp_path / "peek.py"
    path.write_text(
        "from alphaforge.strategy.base import Signals, Strategy\n"
        "class Peek(Strategy):\n"
        "    def signals(self, data):\n"
        "        nxt = data.close.copy()\n"
        "        nxt[:-1] = data.close[1:]\n"
        "        return Signals(entries=nxt > data.close, exits=nxt < data.close)\n"
    )
    bad = alphaforge.lookahead(f"{path}:Peek", one, cuts=5, starts=0)
    assert not bad.ok and set(bad.to_frame()["check"]) == {"lookahead"}
    with pytest.raises(StrategyError, match="fast"):
        alphaforge.lookahead("sma_cross", one, params={"fast": 50, "slow": 20})
    with pytest.raises(ConfigError, match="cuts=0"):
        alphaforge.lookahead("sma_cross", one, cuts=0)


def test_store_and_load(bars: pd.DataFrame, tmp_path: Path) -> None:
    from alphaforge.services.store import import_file

    src = tmp_path / "bars.parquet"
    bars.to_parquet(src)
    import_file(alphaforge.store(home=tmp_path / "home"), src)
    syms = sorted(bars["symbol"].unique())[:2]
    got = alphaforge.load(syms, start="2015-01-01", home=tmp_path / "home", adjust=False)
    assert isinstance(got, pd.DataFrame)
    want = bars[bars["symbol"].isin(syms) & (bars["timestamp"] >= "2015-01-01")]
    assert len(got) == len(want) and set(got["symbol"]) == set(syms)
    panel = alphaforge.load(syms, home=tmp_path / "home", panel=True, adjust=False)
    assert panel.symbols == tuple(syms)
    by_frame = alphaforge.backtest("sma_cross", got, params={"fast": 5, "slow": 20})
    assert by_frame.num_trades > 0
    with pytest.raises(DataError):
        alphaforge.load(["NOPE"], home=tmp_path / "home")


def test_walkforward_equals_the_service(one: pd.DataFrame, tmp_path: Path) -> None:
    from alphaforge.api.inputs import run_config, run_spec
    from alphaforge.config.settings import load_settings
    from alphaforge.services.backtest import to_panel
    from alphaforge.services.optimize import WalkForwardRequest, run_walkforward

    wf = alphaforge.walkforward("sma_cross", one, {"fast": [5, 10], "slow": [20, 40]},
                                train=250, test=100, home=tmp_path, workers=1)  # fmt: skip
    cfg = run_config(None, None)
    req = WalkForwardRequest(spec=run_spec(cfg, "sma_cross", {}), grids=["fast=5,10",
                             "slow=20,40"], train_len=250, test_len=100, workers=1)  # fmt: skip
    ref = run_walkforward(req, load_settings(tmp_path / "ref"), panel=to_panel(one))
    pd.testing.assert_frame_equal(wf.folds, ref.folds)
    assert wf.result.metrics["sharpe"] == pytest.approx(ref.result.metrics["sharpe"])
    assert len(wf.folds) == (len(one) - 250) // 100
    assert (wf.directory / "folds.csv").exists()
    fig = wf.plot()
    assert len(fig.layout.shapes) == 2 * len(wf.folds)  # a line on equity and on drawdown
    with pytest.raises(ConfigError, match="train=0"):
        alphaforge.walkforward("sma_cross", one, {"fast": [5]}, train=0)


def test_result_methods_need_the_api() -> None:
    from alphaforge.sim import result as module

    assert module._VIEWS["plot"] is alphaforge.plot  # installed by importing alphaforge.api


def test_plot_without_the_api_says_how(result: BacktestResult, tmp_path: Path) -> None:
    import subprocess
    import sys

    saved = result.to_json(tmp_path / "r.json")
    code = (
        "from alphaforge.sim.result import BacktestResult\n"
        f"r = BacktestResult.from_json({str(saved)!r})\n"
        "try:\n    r.plot()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n"
        "import alphaforge.api\nprint(type(r.plot()).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("BacktestError BacktestResult.plot() comes with the Python API")
    assert lines[1] == "Figure"


def test_the_data_given_first_is_named_not_printed(one: pd.DataFrame) -> None:
    """``alphaforge.backtest(df, "sma_cross")`` said "unknown strategy '<the whole frame's
    text>'", thousands of characters on many lines."""
    from alphaforge.core.errors import StrategyInputError

    with pytest.raises(StrategyInputError) as err:
        alphaforge.backtest(one, "sma_cross")  # type: ignore[arg-type]
    assert str(err.value) == (
        "the strategy is a name, a Strategy class or an instance, got a DataFrame (arguments in "
        "the wrong order?)"
    )


def test_a_bankrupt_run_says_so(one: pd.DataFrame) -> None:
    """8x leverage on a long / short crossover takes the equity below zero; the run reported
    a total return of -103% and a Sharpe ratio without a word, exit 0."""
    res = alphaforge.backtest(
        "sma_cross", one, direction="long_short", sizing={"method": "fraction", "value": 8.0},
        risk={"max_gross_leverage": 10},
    )  # fmt: skip
    eq = res.equity
    first = eq.index[int(np.argmax(eq.to_numpy() <= 0.0))]
    assert (eq <= 0.0).any()
    (warning,) = [w for w in res.warnings if "bankrupt" in w]
    assert warning.startswith(f"equity fell to {eq[first]:,.2f} on {first:%Y-%m-%d}: ")
    assert "no margin call is modelled" in warning
    plain = alphaforge.backtest("sma_cross", one, direction="long_short")
    assert (plain.equity > 0).all() and not [w for w in plain.warnings if "bankrupt" in w]
