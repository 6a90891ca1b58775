"""FIFO accounting of the ledger on random fills: the derived position is the sum of the
signed quantities, and the round trips account for every closed unit."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.ledger.fifo import match_fills
from alphaforge.ledger.rows import FillRow

fill_st = st.tuples(
    st.sampled_from(["A", "B"]),
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 40).map(lambda n: Decimal(n) / 4),
    st.integers(100, 2_000).map(lambda n: Decimal(n) / 10),
    st.integers(0, 10).map(lambda n: Decimal(n) / 100),
    st.sampled_from(["o1", "o2", "o3"]),
)


def fills_of(raw: list[tuple[str, str, Decimal, Decimal, Decimal, str]]) -> list[FillRow]:
    return [
        FillRow(f"f{i}", cid, "run", "s", symbol, side, qty, price, fee, Decimal(0),
                f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00")
        for i, (symbol, side, qty, price, fee, cid) in enumerate(raw)
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(fill_st, max_size=60))
def test_position_is_the_sum_and_trades_close_every_unit(
    raw: list[tuple[str, str, Decimal, Decimal, Decimal, str]],
) -> None:
    fills = fills_of(raw)
    positions, trades = match_fills(fills)
    for symbol in ("A", "B"):
        mine = [f for f in fills if f.symbol == symbol]
        net = sum((f.signed_qty for f in mine), Decimal(0))
        held = [p.qty for p in positions if p.symbol == symbol]
        assert held == ([net] if net else [])
        traded = sum((f.qty for f in mine), Decimal(0))
        closed = sum((t.qty for t in trades if t.symbol == symbol), Decimal(0))
        # every unit traded either opened a unit still held, opened a closed unit or closed one
        assert traded == 2 * closed + abs(net)
        fees = sum((f.fee for f in mine), Decimal(0))
        booked = sum((t.fees for t in trades if t.symbol == symbol), Decimal(0))
        assert booked <= fees + Decimal("1e-8")
    for t in trades:
        assert t.qty > 0 and t.side in {"long", "short"}
        gross = (t.exit_price - t.entry_price) * t.qty * (1 if t.side == "long" else -1)
        assert abs(t.pnl - (gross - t.fees)) < Decimal("1e-6")
