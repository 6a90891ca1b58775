"""Commission models, slippage models, volume participation, borrow fee and cash interest."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scenarios._helpers import make_panel, run, sig

CASH = 10_000.0
SHARES = {"sizing.method": "shares"}


def _flat(price: float, n: int, volume: float = 1e9) -> list[tuple[float, ...]]:
    return [(price, price, price, price, volume)] * n


@pytest.mark.parametrize(
    ("spec", "price", "qty", "fee"),
    [
        ("0.1%", 10.0, 100, 1.0),  # 0.1% of 1000
        ("5bps", 10.0, 100, 0.5),  # 0.05% of 1000
        ("1/order", 10.0, 100, 1.0),  # fixed
        ("0.005/share,min=1,max=1%", 10.0, 100, 1.0),  # 0.50 -> minimum 1
        ("0.005/share,min=1,max=1%", 10.0, 1000, 5.0),  # 1000 * 0.005
        ("0.005/share,min=1,max=1%", 0.2, 10_000, 20.0),  # 50 -> capped at 1% of 2000
        ("ib", 10.0, 1000, 5.0),  # alias of the IB tiered default above
        ("0.005/share+1/order", 10.0, 1000, 6.0),  # parts add up
    ],
)
def test_commission_models(spec: str, price: float, qty: int, fee: float) -> None:
    p = make_panel({"A": _flat(price, 4)})
    res = run(p, sig(4, [0], [1]), cash=CASH * 10, commission=spec, size=qty, **SHARES)
    # bought at bar 1, sold at bar 2, both at `price`: each order pays `fee`
    np.testing.assert_allclose(res.orders["fee"], [fee, fee])
    np.testing.assert_array_equal(res.orders["quantity"], [qty, qty])
    tr = res.trades.iloc[0]
    assert tr.fees == pytest.approx(2 * fee) and tr.pnl == pytest.approx(-2 * fee)
    assert res.final_equity == pytest.approx(CASH * 10 - 2 * fee)


def test_all_in_with_per_share_commission_stays_within_cash() -> None:
    # 0.005/share + 1/order at 10: q*10 + 0.005*q + 1 <= 10000 -> q = floor(9999/10.005) = 999
    p = make_panel({"A": _flat(10.0, 3)})
    res = run(p, sig(3, [0]), cash=CASH, commission="0.005/share+1/order")
    o = res.orders.iloc[0]
    assert o["quantity"] == 999 and o["fee"] == pytest.approx(999 * 0.005 + 1)
    assert res.cash.iloc[1] == pytest.approx(CASH - 9990 - 5.995)


@pytest.mark.parametrize("spec", ["10bps", "spread=20bps", "0.05%+spread=10bps"])
def test_fixed_and_spread_slippage(spec: str) -> None:
    # each fill pays 10 bps against it: buy at 100 -> 100.1, sell at 110 -> 109.89
    bars = [(100.0, 100, 100, 100), (100.0, 100, 100, 100), (110.0, 110, 110, 110)]
    res = run(make_panel({"A": bars}), sig(3, [0], [1]), cash=CASH, slippage=spec,
              size=50, **SHARES)  # fmt: skip
    tr = res.trades.iloc[0]
    assert tr.entry_price == pytest.approx(100.1) and tr.exit_price == pytest.approx(109.89)
    assert tr.slippage == pytest.approx(50 * 0.1 + 50 * 0.11)
    assert tr.pnl == pytest.approx(50 * (109.89 - 100.1))


def test_atr_slippage() -> None:
    # ATR(1) = true range. Entry decided at bar 1 (TR = max(4, 2, 2) = 4) pays 0.5 * 4 = 2
    # over bar 2's open 102; exit decided at bar 2 (TR = max(2, 2, 0) = 2) pays 1 under bar 3's
    # open 104
    bars = [(100.0, 101, 99, 100), (100.0, 102, 98, 101), (102.0, 103, 101, 102),
            (104.0, 105, 103, 104)]  # fmt: skip
    res = run(make_panel({"A": bars}), sig(4, [1], [2]), cash=CASH, slippage="0.5atr",
              size=10, **SHARES, **{"exits.atr_period": 1})  # fmt: skip
    tr = res.trades.iloc[0]
    assert (tr.entry_price, tr.exit_price) == (104.0, 103.0)
    assert tr.slippage == pytest.approx(10 * 2 + 10 * 1)


def test_participation_cap_partial_fills_carry_to_next_bars() -> None:
    # volume 1000 per bar, 10% participation -> at most 100 shares a bar; 250 wanted
    bars = [(100.0 + k, 100.0 + k, 100.0 + k, 100.0 + k, 1000.0) for k in range(8)]
    res = run(make_panel({"A": bars}), sig(8, [0], [3]), cash=CASH * 10, participation=0.1,
              size=250, **SHARES)  # fmt: skip
    o = res.orders
    # buys: bar 1: 100 of 250 at 101, bar 2: 100 of 150 at 102, bar 3: 50 of 50 at 103
    buys = o[o["side"] == "buy"]
    assert list(buys["quantity"]) == [100, 100, 50]
    assert list(buys["requested"]) == [250, 150, 50]
    assert list(buys["status"]) == ["partial", "partial", "filled"]
    assert list(buys["time"]) == list(res.index[1:4])
    # sells after the exit signal of bar 3: bars 4, 5, 6 at 104, 105, 106
    sells = o[o["side"] == "sell"]
    assert list(sells["quantity"]) == [100, 100, 50]
    assert list(sells["status"]) == ["partial", "partial", "filled"]
    avg = (100 * 101 + 100 * 102 + 50 * 103) / 250  # 101.8
    t = res.trades
    np.testing.assert_allclose(t["entry_price"], [avg] * 3)
    np.testing.assert_allclose(t["pnl"], [100 * (104 - avg), 100 * (105 - avg), 50 * (106 - avg)])


def test_exit_signal_cancels_the_unfilled_rest_of_an_entry() -> None:
    # 250 wanted, 100 filled at bar 1; the exit signal of bar 1 sells those 100 at bar 2 and
    # the remaining 150 of the entry must not be bought afterwards
    bars = [(100.0, 100, 100, 100, 1000.0)] * 5
    res = run(make_panel({"A": bars}), sig(5, [0], [1]), cash=CASH * 10, participation=0.1,
              size=250, **SHARES)  # fmt: skip
    np.testing.assert_array_equal(res.positions["A"].to_numpy(), [0, 100, 0, 0, 0])
    assert list(res.orders["side"]) == ["buy", "sell"]


def test_short_borrow_fee_accrues_on_close_value() -> None:
    # short 100 at 100 from bar 1; fee 2.52%/yr over 252 bars = 0.01% of 10000 = 1 per bar close
    p = make_panel({"A": _flat(100.0, 4)})
    s = sig(4, short_entries=np.eye(4, dtype=bool)[0])
    res = run(
        p, s, cash=CASH, direction="short", size=100, **SHARES, **{"costs.borrow_fee": 0.0252}
    )
    np.testing.assert_allclose(res.cash.to_numpy(), [CASH, 19_999.0, 19_998.0, 19_997.0])
    np.testing.assert_allclose(res.equity.to_numpy(), [CASH, 9_999.0, 9_998.0, 9_997.0])


def test_cash_interest_compounds_per_bar() -> None:
    # an annual rate of 1.001**252 - 1 is exactly 0.1% per daily bar
    p = make_panel({"A": _flat(100.0, 4)})
    res = run(p, sig(4), cash=CASH, **{"costs.cash_rate": 1.001**252 - 1})
    np.testing.assert_allclose(res.equity.to_numpy(), CASH * 1.001 ** np.arange(4), rtol=1e-12)
