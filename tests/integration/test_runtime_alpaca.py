"""The runtime on Alpaca: alpaca-py's own clients against the local stand-in, fed the replay.

Alpaca charges no commission and the stand-in fills market orders at the bar's open and
protective orders at their level (or the open through a gap), as the simulated venue does with
zero costs; so a zero-cost replay on Alpaca gives the backtest's trades. It does when Alpaca
carries out cancels asynchronously too (``pending_cancel``, the order holding its shares until
it ends): a signal's exit follows the cancel of the position's protective OCO, and is not
refused for the shares that OCO still held.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.backtest import run_spec
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.sim import codes as C
from alphaforge.testing import shared_data_file
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = [pytest.mark.integration, pytest.mark.parity]


def _spec(broker: dict[str, str] | None) -> RunSpec:
    return RunSpec.model_validate({
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 40}, "symbols": ["MSFT", "JPM"],
        "data": str(shared_data_file("us_equities_daily.parquet")),
        "start": "2014-01-01", "end": "2015-12-31", "timeframe": "1d",
        "costs": {"commission": 0, "slippage": 0},
        "sizing": {"method": "fraction", "value": 0.4},
        "exits": {"stop_loss": "4%", "take_profit": "8%"},
        **({"broker": broker} if broker else {}),
    })  # fmt: skip


@pytest.mark.parametrize("slow_cancels", [False, True], ids=["cancels", "pending_cancels"])
def test_replay_on_the_alpaca_standin_gives_the_backtest_trades(
    tmp_path: Path, slow_cancels: bool
) -> None:
    with AlpacaBroker(cash=100_000.0, now=pd.Timestamp("2014-01-02 14:30", tz="UTC")) as broker:
        if slow_cancels:
            broker.slow_cancels(reads=2, count=10_000)
        settings = AppSettings(
            home=tmp_path, alpaca_api_key=SecretStr(broker.api_key),
            alpaca_secret_key=SecretStr(broker.secret_key),
        )  # fmt: skip
        spec = _spec({"name": "alpaca", "base_url": broker.url, "stream_url": broker.stream_url,
                      "replay_url": broker.url})  # fmt: skip
        with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
            setup = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
            try:
                setup.node.st.keep_records()  # every record, to compare with the backtest's
                run_replay(setup, None)
                venue_positions = {p.symbol: p.qty for p in setup.node.p.venue.positions()}
            finally:
                setup.close()
            trades, _orders, _events = setup.node.st.records()
            held = {p.symbol: float(p.qty) for p in ledger.positions(setup.run_id)}
            reasons = sorted(t.exit_reason for t in ledger.trades(setup.run_id))
            orders = ledger.orders(setup.run_id)
            ids = [o.client_id for o in orders]
        created = broker.new_order_ids()
        cancels = sum(r.method == "DELETE" for r in broker.requests)
    bt = run_spec(_spec(None), AppSettings(home=tmp_path)).trade_records
    closed = bt[bt["exit_reason"] != C.EXIT_END_OF_DATA]
    assert len(closed) >= 5
    for field in ("symbol", "direction", "entry_bar", "exit_bar", "qty", "exit_reason"):
        np.testing.assert_array_equal(trades[field], closed[field], err_msg=field)
    np.testing.assert_allclose(trades["pnl"], closed["pnl"], rtol=1e-9)
    assert venue_positions == held  # the broker's positions are the ledger's
    assert reasons == sorted(C.EXIT_NAMES[int(r)] for r in closed["exit_reason"])
    assert len(created) == len(set(created))  # no client order id created twice
    assert len(ids) == len(set(ids))
    assert cancels > 0 and not [o for o in orders if o.state == "rejected"]
