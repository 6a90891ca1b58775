"""The stepper's record buffers stay bounded over a long run: records no rule reads again are
dropped (every order, every trade but Kelly's lookback, risk events once handed out), counted,
and kept only after ``keep_records``."""

from __future__ import annotations

import numpy as np

from alphaforge.core.rules import BacktestConfig
from alphaforge.sim import codes as C
from alphaforge.sim.kernels_rules import kelly_fraction_nb
from alphaforge.sim.records import TRADE
from alphaforge.sim.settings import settings_from_config
from alphaforge.sim.stepper import Stepper, decode_array

ROUND_TRIPS = 3_000


def _stepper(sizing: dict[str, object] | None = None) -> Stepper:
    cfg = BacktestConfig.build(
        {"costs": {"commission": 0, "slippage": 0}, **({"sizing": sizing} if sizing else {})},
        source="test",
    )
    return Stepper(("A", "B"), settings_from_config(cfg, 252.0), np.zeros(2, dtype=np.int64))


def _trade(st: Stepper, t: int, risk_exit: bool = False) -> None:
    """One round trip of symbol 0 in bar ``t``: a winner or a loser by ``t``."""
    st.start_bar(t, False, False)
    st.book_fill(t, 0, 10.0, (100.0, 0.0, 0.0), C.REASON_ENTRY, 10.0)
    exit_px = 100.0 + (t % 7) - 3.0
    if risk_exit:
        st.protective_fill(t, 0, (exit_px, 0.0, 0.0), C.EXIT_RISK_LIMIT)
    else:
        st.book_fill(t, 0, -10.0, (exit_px, 0.0, 0.0), C.EXIT_SIGNAL, 10.0)


def _capacity(st: Stepper) -> int:
    return max(st.rec.trades.shape[0], st.rec.orders.shape[0], st.rec.events.shape[0])


def test_buffers_stay_bounded_and_counts_include_what_was_dropped() -> None:
    st, kept = _stepper(), _stepper()
    kept.keep_records()
    for t in range(ROUND_TRIPS):
        _trade(st, t)
        _trade(kept, t)
    assert _capacity(st) < 1_000  # not one row per record of the run
    assert st.counts() == kept.counts() == (ROUND_TRIPS, 2 * ROUND_TRIPS, 0, 0)
    trades, orders, _events = kept.records()
    assert len(trades) == ROUND_TRIPS and len(orders) == 2 * ROUND_TRIPS
    np.testing.assert_array_equal(trades["exit_bar"], np.arange(ROUND_TRIPS))
    held_trades, held_orders, _ = st.records()  # the records not dropped yet: the last ones
    assert 0 < len(held_orders) < 1_000
    np.testing.assert_array_equal(
        held_trades["pnl"], trades["pnl"][len(trades) - len(held_trades) :]
    )
    np.testing.assert_array_equal(
        held_orders["bar"], orders["bar"][len(orders) - len(held_orders) :]
    )


def test_kelly_sizing_keeps_its_lookback_of_trades() -> None:
    sizing = {"method": "kelly", "value": 0.5, "kelly_lookback": 40, "kelly_min_trades": 10}
    st, kept = _stepper(sizing), _stepper(sizing)
    kept.keep_records()
    for t in range(ROUND_TRIPS):
        _trade(st, t)
        _trade(kept, t)
        if t % 97 == 0:
            a = kelly_fraction_nb(st.rec.trades, st.rec.cnt[0]["trades"], st.s)
            b = kelly_fraction_nb(kept.rec.trades, kept.rec.cnt[0]["trades"], kept.s)
            assert a == b
    assert st.rec.cnt[0]["trades"] >= 40 and _capacity(st) < 1_000
    mine, full = (decode_array(x.snapshot()["trades"], TRADE) for x in (st, kept))
    assert len(mine) == len(full) == 40  # the trades a restart carries
    for name in TRADE.names or ():  # field by field: the aligned layout has padding bytes
        np.testing.assert_array_equal(mine[name], full[name], err_msg=name)


def test_risk_events_are_dropped_only_once_handed_out() -> None:
    reader, direct = _stepper(), _stepper()
    seen, got = 0, []
    for t in range(ROUND_TRIPS):
        _trade(reader, t, risk_exit=True)
        _trade(direct, t, risk_exit=True)
        events, seen = reader.events_after(seen)
        got.append(events)
    events = np.concatenate(got)
    np.testing.assert_array_equal(events["bar"], np.arange(ROUND_TRIPS))
    assert (events["rule"] == C.RULE_TRADE_MAX_LOSS).all() and seen == ROUND_TRIPS
    assert _capacity(reader) < 1_000
    # a reader that indexes the buffer itself (never calls events_after) still finds them all
    n = int(direct.rec.cnt[0]["events"])
    assert n == ROUND_TRIPS
    np.testing.assert_array_equal(direct.rec.events[:n]["bar"], np.arange(ROUND_TRIPS))
    assert reader.counts().events == direct.counts().events == ROUND_TRIPS


def test_restore_starts_the_counts_again_with_kellys_trades() -> None:
    sizing = {"method": "kelly", "value": 0.5, "kelly_lookback": 40, "kelly_min_trades": 10}
    st = _stepper(sizing)
    for t in range(500):
        _trade(st, t)
    again = _stepper(sizing)
    again.restore(st.snapshot())
    assert again.counts() == (40, 0, 0, 0)
    a = kelly_fraction_nb(st.rec.trades, st.rec.cnt[0]["trades"], st.s)
    assert kelly_fraction_nb(again.rec.trades, again.rec.cnt[0]["trades"], again.s) == a
