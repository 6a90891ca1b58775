"""Continuing a paper run (``--run-id``): the config must be the one it was started with, and a
replay's run is not continued by paper; both are refused before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import ConfigError
from alphaforge.data.sample import generate_daily
from alphaforge.data.store import ParquetStore
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper
from alphaforge.services.trading import ReplayRequest, build_replay

pytestmark = pytest.mark.integration
SPEC = {
    "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["SYN01", "SYN02"],
    "timeframe": "1d", "feed": {"source": "store", "history_bars": 60},
}  # fmt: skip
NOW = pd.Timestamp("2018-06-01 22:00", tz="UTC")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[AppSettings, Ledger]]:
    settings = AppSettings(home=tmp_path)
    bars = generate_daily(seed=7, n_symbols=2, start="2018-01-02", years=1)
    bars["timestamp"] = pd.to_datetime(bars["timestamp"], utc=True)
    ParquetStore(settings.store_dir).write(bars[bars["timestamp"] < NOW.normalize()], "1d")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield settings, ledger
    ledger.close()


def _counts(ledger: Ledger, run_id: str) -> tuple[int, int]:
    return len(ledger.orders(run_id)), len(ledger.fills(run_id))


def test_another_config_is_refused_and_the_run_is_untouched(world: tuple) -> None:
    settings, ledger = world
    setup = build_paper(RunSpec.model_validate(SPEC), settings, ledger, None, NOW)
    setup.close()
    before = (ledger.run(setup.run_id), _counts(ledger, setup.run_id))
    changed = RunSpec.model_validate({**SPEC, "params": {"fast": 6, "slow": 20}})
    with pytest.raises(ConfigError, match=f"--run-id {setup.run_id}: .*another config"):
        build_paper(changed, settings, ledger, setup.run_id, NOW)
    assert (ledger.run(setup.run_id), _counts(ledger, setup.run_id)) == before
    again = build_paper(RunSpec.model_validate(SPEC), settings, ledger, setup.run_id, NOW)
    assert again.run_id == setup.run_id  # the same config continues
    again.close()


def test_a_replay_run_is_not_continued_by_paper(world: tuple) -> None:
    settings, ledger = world
    spec = RunSpec.model_validate(SPEC)
    replay = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
    with pytest.raises(ConfigError, match=f"--run-id {replay.run_id}: the run is a replay"):
        build_paper(RunSpec.model_validate(SPEC), settings, ledger, replay.run_id, NOW)
