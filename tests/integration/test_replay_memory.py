"""A long replay's memory stays flat: after the set-up, what the runtime holds does not grow with
the bars, orders and fills it has gone through (the ledger keeps the run, not the process).

The replay runs the SYNTHETIC sample market's minute bars (:mod:`alphaforge.data.sample`,
twenty symbols) with a fast crossover and a tight stop and target, so that it sends thousands of
orders and books thousands of fills. tracemalloc, started after the set-up, measures what the
replay still holds half-way and at the end; the second half may add no more than a small
constant. The memories bounded by a count (the client ids the risk gate remembers, the fill ids
the ledger remembers, the simulated venue's recent orders and fills) are made small here so that
they are full by half-way; the node's own fill-id memory (bounded at 10,000 ids, about 1 MB) is
within the bound.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_intraday, sample_symbols
from alphaforge.engine import gate
from alphaforge.ledger import Ledger, repository
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAYS = 6  # sessions of minute bars: 2,340 bars of 20 symbols
BOUND = 1_000_000  # bytes the second half may add to what the replay holds
MEMORY = 300  # the count-bounded memories during the test (ids, orders, fills)


def _spec(data: Path) -> RunSpec:
    return RunSpec.model_validate({
        "strategy": "sma_cross", "params": {"fast": 3, "slow": 10}, "symbols": sample_symbols(20),
        "data": str(data), "timeframe": "1m", "sizing": {"method": "fraction", "value": 0.05},
        "costs": {"commission": "0.1%", "slippage": "1bps"},
        "exits": {"stop_loss": "0.3%", "take_profit": "0.5%"},
    })  # fmt: skip


def test_replay_memory_does_not_grow_with_orders_and_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "SENT_MEMORY", MEMORY, raising=False)
    monkeypatch.setattr(repository, "FILLS_REMEMBERED", MEMORY, raising=False)
    bars = generate_intraday(seed=42, symbols=sample_symbols(20), days=DAYS, start="2024-01-02")
    data = tmp_path / "minute_bars.parquet"
    bars.to_parquet(data)
    held: dict[str, int] = {}
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_replay(
            _spec(data), AppSettings(home=tmp_path), ledger, ReplayRequest(None, None, None)
        )
        setup.node.p.venue.history = MEMORY  # type: ignore[attr-defined]
        n = setup.panel.shape[0]
        marks = {n // 2: "half", n - 2: "end"}
        due: list[str] = []

        def on_bar(t: int, _eq: float) -> None:
            # the node keeps a batch of cycles until the next one begins: at each mark the
            # batch is committed, and what is held is measured a bar later (one cycle in it)
            if due and due[0] not in held:
                gc.collect()
                held[due.pop()] = tracemalloc.get_traced_memory()[0]
            name = marks.get(t)
            if name is not None and name not in held and not due:
                setup.node.commit()
                due.append(name)

        gc.collect()
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            out = run_replay(setup, None, on_bar)
        finally:
            tracemalloc.stop()
        half = setup.panel.index[n // 2]
        fills = [f for f in ledger.fills(setup.run_id) if pd.Timestamp(f.ts) > half]
    assert out.orders > 5_000 and len(fills) > 2_500, "the replay must trade a lot to mean anything"
    first, second = held["half"] - start, held["end"] - held["half"]
    assert second < BOUND, (
        f"the replay's memory grew by {second / 1e6:.2f} MB over its second half "
        f"({len(fills)} fills; {first / 1e6:.2f} MB over the first, set-up of the loop included)"
    )
