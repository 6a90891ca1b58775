"""A benchmark symbol outside the traded set: its curve, the metrics against it (checked by an
independent regression), the config and hash that record it, and a missing symbol refused."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.errors import DataError
from alphaforge.reports.summary import full_metrics
from alphaforge.reports.tearsheet import tearsheet_html
from alphaforge.services.backtest import run_spec
from alphaforge.services.store import import_file, open_store
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration
CASH = 100_000.0


@pytest.fixture(scope="module")
def etfs() -> Path:
    return shared_data_file("us_etfs_daily.parquet")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, etfs: Path) -> AppSettings:
    """A home whose store holds SPY and QQQ (daily, 2017-2019, with adj_close)."""
    s = AppSettings(home=tmp_path_factory.mktemp("bench") / "home")
    import_file(open_store(s), etfs)
    return s


def _spec(**over: Any) -> Any:
    base = {"strategy": "sma_cross", "symbols": ["QQQ"], "params": {"fast": 10, "slow": 50}}
    return load_run_spec(None, {**base, **over})


@pytest.fixture(scope="module")
def result(settings: AppSettings) -> Any:
    return run_spec(_spec(benchmark="SPY"), settings)


def _spy_adjusted(etfs: Path) -> pd.Series:
    """SPY's dividend-adjusted close straight from the file, on its (naive) trading dates."""
    raw = pd.read_parquet(etfs)
    spy = raw[raw["symbol"] == "SPY"].sort_values("timestamp")
    return pd.Series(spy["adj_close"].to_numpy(), index=pd.DatetimeIndex(spy["timestamp"]))


def test_curve_is_buy_and_hold_of_the_adjusted_benchmark(result: Any, etfs: Path) -> None:
    spy = _spy_adjusted(etfs)
    dates = result.index.tz_convert(None) if result.index.tz is not None else result.index
    assert list(dates) == list(spy.index)  # SPY and QQQ share their 754 trading days
    expected = CASH * spy.to_numpy() / spy.to_numpy()[0]
    np.testing.assert_allclose(result.benchmark_values, expected, rtol=1e-12)
    assert result.symbols == ("QQQ",)  # the benchmark is not traded
    assert set(result.trades["symbol"]) == {"QQQ"}


def test_alpha_beta_information_ratio_match_an_independent_regression(
    result: Any, etfs: Path
) -> None:
    spy = _spy_adjusted(etfs).to_numpy()
    b = spy[1:] / spy[:-1] - 1.0
    eq = result.equity_values
    r = eq[1:] / eq[:-1] - 1.0
    ppy = float(result.config["periods_per_year"])
    fit = stats.linregress(b, r)  # r = intercept + slope * b (ordinary least squares)
    alpha = (1.0 + fit.intercept) ** ppy - 1.0
    active = r - b
    info = active.mean() / active.std(ddof=1) * math.sqrt(ppy)
    strat, _ = full_metrics(result)
    for metrics in (result.metrics, strat):
        assert metrics["beta"] == pytest.approx(fit.slope, rel=1e-9)
        assert metrics["alpha"] == pytest.approx(alpha, rel=1e-9)
        assert metrics["information_ratio"] == pytest.approx(info, rel=1e-9)
        assert metrics["correlation"] == pytest.approx(fit.rvalue, rel=1e-9)
    assert 0.0 < fit.slope < 1.0  # long QQQ part of the time: some, not all, market exposure


def test_recorded_in_config_hash_manifest_and_tear_sheet(
    result: Any, settings: AppSettings
) -> None:
    assert result.config["benchmark"] == "SPY"
    assert _spec(benchmark="SPY").canonical_hash() != _spec().canonical_hash()
    assert result.manifest_extra["run_spec"]["benchmark"] == "SPY"
    assert result.manifest_extra["benchmark_source"] == "store"
    html = tearsheet_html(result)
    assert "Buy &amp; hold SPY" in html
    plain = run_spec(_spec(), settings)  # default: buy and hold of the traded symbol
    assert not np.allclose(plain.benchmark_values, result.benchmark_values)
    np.testing.assert_array_equal(plain.equity_values, result.equity_values)


def test_benchmark_from_the_store_beside_a_data_file(settings: AppSettings) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    spec = _spec(symbols=["MSFT"], data=str(data), start="2017-01-01", benchmark="SPY")
    res = run_spec(spec, settings)
    assert res.manifest_extra["benchmark_source"] == "store"
    assert res.benchmark_values[0] == CASH
    assert res.config["benchmark"] == "SPY"


def test_missing_benchmark_symbol_is_one_line_naming_it(settings: AppSettings) -> None:
    with pytest.raises(DataError, match=r"^benchmark: NOPE: no 1d bars in the local store") as e:
        run_spec(_spec(benchmark="NOPE"), settings)
    assert "\n" not in str(e.value)


def test_cli_benchmark_option(settings: AppSettings, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    args = ["backtest", "sma_cross", "-s", "QQQ", "-p", "fast=10", "-p", "slow=50"]
    out = tmp_path / "r.json"
    ok = runner.invoke(
        app, normalize_argv([*home, *args, "--benchmark", "SPY", "--json", str(out)])
    )
    assert ok.exit_code == 0, ok.output
    assert "buy & hold SPY" in ok.output
    assert '"benchmark": "SPY"' in out.read_text()
    bad = runner.invoke(app, normalize_argv([*home, *args, "--benchmark", "NOPE", "-q"]))
    assert bad.exit_code != 0
    assert "benchmark: NOPE" in bad.output
    assert "Traceback" not in bad.output


def test_benchmark_starting_late_is_flat_until_then_and_warned(
    settings: AppSettings, etfs: Path
) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    spec = _spec(symbols=["MSFT"], data=str(data), start="2016-06-01", benchmark="SPY")
    res = run_spec(spec, settings)
    first = pd.Timestamp("2017-01-03", tz="UTC")  # SPY's first bar in the store
    before = res.index < first
    assert before.sum() > 100
    assert (res.benchmark_values[before] == CASH).all()
    spy = _spy_adjusted(etfs)
    after = res.benchmark_values[~before]
    np.testing.assert_allclose(after[:5], CASH * spy.to_numpy()[:5] / spy.to_numpy()[0])
    assert any(w.startswith("benchmark SPY: its bars start 2017-01-03") for w in res.warnings)
