"""Two strategies of an account holding opposite positions in one symbol, each with a stop-loss
held at the simulated venue: the venue's position is their net, and a strategy's stop still
closes that strategy's whole position (it is not cut to the net). The reference is each strategy
replayed alone on its own venue with its allocation of the cash."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.account_replay import replay_account, solo, trips

from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.ledger import Ledger

pytestmark = pytest.mark.integration


def test_a_stop_closes_its_strategys_position_when_another_holds_the_opposite(
    tmp_path: Path,
) -> None:
    data = tmp_path / "bars.parquet"
    generate_daily(seed=11, n_symbols=1, years=3).to_parquet(data)
    spec = RunSpec.model_validate({
        "data": str(data), "symbols": ["SYN01"], "timeframe": "1d", "cash": 100_000,
        "costs": {"commission": "0.1%", "slippage": "5bps"}, "direction": "long_short",
        "sizing": {"method": "fraction", "value": 0.5},
        "strategies": [
            {"id": "fast", "strategy": "sma_cross", "params": {"fast": 3, "slow": 12},
             "allocation": 0.5, "exits": {"stop_loss": "2%"}},
            {"id": "slow", "strategy": "sma_cross", "params": {"fast": 10, "slow": 40},
             "allocation": 0.5, "exits": {"stop_loss": "3%"}},
        ],
    })  # fmt: skip
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = replay_account(spec, tmp_path, ledger)
        mine = {sid: trips(ledger, setup.run_id, sid) for sid in setup.ids}
    # the case this test is about happened: a stop-loss exit while the other held the opposite
    opposite = [
        a for a in mine["fast"] if a[-1] == "stop_loss"
        and any(b[1] != a[1] and b[2] <= a[3] and (not b[3] or b[3] > a[3]) for b in mine["slow"])
    ]  # fmt: skip
    assert opposite, "no stop-loss fired while the other strategy held the opposite position"
    for k, sid in enumerate(setup.ids):
        assert mine[sid] == solo(spec, k, tmp_path), sid
