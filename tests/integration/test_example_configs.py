"""Every example run config runs, and its result's config rebuilds the same run.

``result.config`` is the reproducibility record: ``BacktestConfig.build`` of it (as stored in
``result.json``) must give a run whose result equals the first one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphaforge.config.settings import load_settings
from alphaforge.config.specs import RunSpec, load_run_spec
from alphaforge.core.rules import BacktestConfig
from alphaforge.data.sample import generate_daily, sample_symbols
from alphaforge.services.accounts import sleeve_spec
from alphaforge.services.backtest import load_spec_panel, make_strategy, run_spec
from alphaforge.sim.vectorized import run_backtest
from alphaforge.testing import shared_data_file
from alphaforge.testing.records import assert_records_equal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _overrides(path: Path, tmp_path: Path) -> dict[str, object]:
    """What a by-hand run of the example adds: the demo's sample symbols and bars, or the
    shared data file at its place beside the project."""
    spec = load_run_spec(path)
    if spec.data:
        return {"data": str(shared_data_file(Path(spec.data).name))}
    bars = tmp_path / "sample.parquet"
    generate_daily(seed=7, n_symbols=20, years=3).to_parquet(bars)
    return {"data": str(bars), "symbols": sample_symbols(20)}


def _strategy_specs(spec: RunSpec) -> list[RunSpec]:
    """The spec, or each strategy's of an account of several (as each one trades)."""
    if spec.strategies is None:
        return [spec]
    return [sleeve_spec(spec, k) for k in range(len(spec.strategies))]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_its_result_config_rebuilds_the_run(path: Path, tmp_path: Path) -> None:
    account = load_run_spec(path, _overrides(path, tmp_path))
    settings = load_settings(tmp_path / "home")
    for spec in _strategy_specs(account):
        _rebuilds(spec, settings, path)


def _rebuilds(spec: RunSpec, settings: Any, path: Path) -> None:
    assert spec.strategy is not None
    first = run_spec(spec, settings)
    assert first.num_trades > 0  # the example trades: a run that does nothing proves nothing
    stored = json.loads(json.dumps(first.config))  # as result.json holds it
    again = run_backtest(
        make_strategy(spec.strategy, spec.params),
        load_spec_panel(spec, settings),
        BacktestConfig.build(stored, source=f"{path.name} result.config"),
    )
    assert again.config == first.config
    np.testing.assert_array_equal(again.equity_values, first.equity_values)
    for kind in ("trade_records", "order_records", "event_records"):
        assert_records_equal(getattr(again, kind), getattr(first, kind))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 2
