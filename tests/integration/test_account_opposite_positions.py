"""Two strategies of an account holding opposite positions in one symbol, each with a stop-loss
held at the simulated venue: the venue's position is their net, and a strategy's stop still
closes that strategy's whole position (it is not cut to the net). The reference is each strategy
replayed alone on its own venue with its allocation of the cash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.ledger import Ledger
from alphaforge.services.accounts import build_account_replay, run_account_replay, sleeve_spec
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

pytestmark = pytest.mark.integration
NOW = ReplayRequest(None, None, None)
FIELDS = ("symbol", "side", "entry_ts", "exit_ts", "qty", "entry_price", "exit_price", "fees",
          "pnl", "exit_reason")  # fmt: skip


def _trips(ledger: Ledger, run_id: str, strategy: str | None = None) -> list[tuple[Any, ...]]:
    rows = []
    for t in ledger.trades(run_id, strategy):
        vals = [getattr(t, f) for f in FIELDS]
        rows.append(tuple(round(float(v), 6) if i in range(4, 9) else v
                          for i, v in enumerate(vals)))  # fmt: skip
    return sorted(rows, key=repr)


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
        setup = build_account_replay(spec, AppSettings(home=tmp_path), ledger, NOW)
        run_account_replay(setup, None)
        mine = {sid: _trips(ledger, setup.run_id, sid) for sid in setup.ids}
    # the case this test is about happened: a stop-loss exit while the other held the opposite
    opposite = [
        a for a in mine["fast"] if a[-1] == "stop_loss"
        and any(b[1] != a[1] and b[2] <= a[3] and (not b[3] or b[3] > a[3]) for b in mine["slow"])
    ]  # fmt: skip
    assert opposite, "no stop-loss fired while the other strategy held the opposite position"
    for k, sid in enumerate(setup.ids):
        with Ledger.open(f"sqlite:///{tmp_path / f'solo{k}.db'}") as solo:
            alone = build_replay(sleeve_spec(spec, k), AppSettings(home=tmp_path), solo, NOW)
            run_replay(alone, None)
            assert mine[sid] == _trips(solo, alone.run_id), sid
