"""A run id given to the Python API is a plain name, as ``--run-id`` is on the command line: it
names the run's log file under the home, so ``../x`` would write outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import ConfigError
from alphaforge.data.sample import generate_daily
from alphaforge.ledger import Ledger
from alphaforge.services.trading import ReplayRequest, build_replay, check_run_id


def _spec(tmp_path: Path) -> RunSpec:
    data = tmp_path / "bars.parquet"
    generate_daily(seed=3, n_symbols=1, start="2020-01-01", years=1).to_parquet(data)
    return RunSpec.model_validate({"strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
                                   "symbols": ["SYN01"], "data": str(data)})  # fmt: skip


@pytest.mark.parametrize("run_id", ["../../escaped", "a/b", "", ".hidden", "x" * 101])
def test_replay_refuses_a_run_id_that_is_not_a_plain_name(tmp_path: Path, run_id: str) -> None:
    home = tmp_path / "home"
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        with pytest.raises(ConfigError, match="a run id is 1 to 100 letters"):
            build_replay(_spec(tmp_path), AppSettings(home=home), ledger,
                         ReplayRequest(None, None, None, run_id=run_id))  # fmt: skip
        assert ledger.runs() == []
    assert not (home / "logs").exists()
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("run_id", ["paper-20190102", "my.run_2", "A", "x" * 100])
def test_plain_run_ids_pass(run_id: str) -> None:
    check_run_id(run_id)
    check_run_id(None)  # none given: a new id is made
