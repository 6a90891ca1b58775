"""Pieces of the reports: warnings helpers, derived series, the comparison page."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphaforge.reports import frames, summary
from alphaforge.reports.compare import best_by_row, labels_for, write_comparison
from alphaforge.reports.tearsheet import build_figures


@pytest.mark.parametrize(
    ("value", "zero"),
    [
        (None, True),
        (0, True),
        (0.0, True),
        ("0", True),
        ("0%", True),
        ("0bps", True),
        ("0.000", True),
        ("spread=0bps", True),
        ("5bps", False),
        ("0.1%", False),
        ("0.005/share,min=1,max=1%", False),
        ("ib", False),  # a named commission model charges something
        (0.001, False),
    ],
)
def test_is_zero_cost(value: Any, zero: bool) -> None:
    assert summary.is_zero_cost(value) is zero


@pytest.mark.parametrize(
    ("ppy", "n", "window"),
    [
        (252.0, 5000, 126),  # half a year of daily bars
        (52.0, 1000, 26),  # weekly
        (1638.0, 20000, 819),  # hourly, 6.5 h sessions: 252 * 6.5 / 2
        (1638.0, 900, 300),  # short sample: a third of the bars
        (252.0, 4, 2),  # never below two bars
    ],
)
def test_rolling_window(ppy: float, n: int, window: int) -> None:
    assert frames.rolling_window(ppy, n) == window


def test_thin_keeps_first_and_last() -> None:
    import pandas as pd

    s = pd.Series(np.arange(10_001.0))
    t = frames.thin(s, 1000)
    assert len(t) <= 1001
    assert t.iloc[0] == 0.0 and t.iloc[-1] == 10_000.0
    assert frames.thin(s.iloc[:50], 1000) is not None and len(frames.thin(s.iloc[:50])) == 50


def test_weights_are_position_value_over_equity(portfolio_result: Any) -> None:
    w = frames.weights(portfolio_result)
    assert w is not None
    close = portfolio_result.data_arrays[4]
    pos = portfolio_result.position_values
    eq = portfolio_result.equity_values
    bar = int(np.argmax(np.count_nonzero(pos, axis=1)))  # a bar with the most holdings
    for j, sym in enumerate(portfolio_result.symbols):
        expected = pos[bar, j] * close[bar, j] / eq[bar]
        got = w[sym].iloc[bar] if sym in w.columns else 0.0
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # long-only: weights sum to gross exposure (gross position value / equity)
    np.testing.assert_allclose(
        w.sum(axis=1).to_numpy(), portfolio_result.gross_values / eq, rtol=1e-9, atol=1e-12
    )


def test_sector_weights_sum_symbols(portfolio_result: Any) -> None:
    w = frames.weights(portfolio_result)
    s = frames.sector_weights(portfolio_result)
    assert w is not None and s is not None
    tech = sum(w[c] for c in ("AAA", "BBB") if c in w.columns)
    np.testing.assert_allclose(s["Tech"].to_numpy(), np.asarray(tech), atol=1e-12)


def test_position_count(portfolio_result: Any) -> None:
    count = frames.position_count(portfolio_result)
    assert count is not None
    assert int(count.max()) <= 3
    assert (count.to_numpy() == (portfolio_result.position_values != 0).sum(axis=1)).all()


def test_traded_notional_matches_orders(single_result: Any) -> None:
    orders = single_result.orders
    total = float((orders["quantity"] * orders["price"]).fillna(0).sum())
    assert frames.traded_notional(single_result).sum() == pytest.approx(total, rel=1e-12)


def test_lookahead_status_variants(single_result: Any) -> None:
    def with_key(value: Any) -> Any:
        return dataclasses.replace(
            single_result, config={**single_result.config, "lookahead": value}
        )

    assert summary.lookahead_status(single_result) == "not run"
    assert summary.lookahead_status(with_key(True)) == "passed"
    assert summary.lookahead_status(with_key({"status": "passed"})) == "passed"
    assert summary.lookahead_status(with_key("failed")) == "failed"
    assert summary.lookahead_status(with_key({"passed": False})) == "failed"
    assert summary.lookahead_status(with_key({"ok": True, "summary": "no look-ahead"})) == "passed"


def test_png_figures_cover_main_charts(single_result: Any) -> None:
    figs = build_figures(single_result)
    assert {"equity", "drawdown", "monthly", "rolling", "distribution"} <= set(figs)
    assert all(len(f.data) >= 1 or f.layout.annotations for f in figs.values())


def test_best_by_row_respects_direction() -> None:
    cols = {"a": {"sharpe": 1.0, "max_drawdown": -0.3}, "b": {"sharpe": 0.5, "max_drawdown": -0.1}}
    assert best_by_row(cols, "sharpe") == "a"
    assert best_by_row(cols, "max_drawdown") == "b"  # the shallower drawdown is better
    assert best_by_row(cols, "beta") is None  # descriptive, not ranked


def test_labels_are_unique(single_result: Any) -> None:
    labels = labels_for([single_result, single_result])
    assert labels == ["sma_cross(fast=5, slow=20)", "sma_cross(fast=5, slow=20) #2"]
    assert labels_for([single_result, single_result], ["a", "b"]) == ["a", "b"]


def test_comparison_page(single_result: Any, portfolio_result: Any, tmp_path: Path) -> None:
    out = write_comparison([single_result, portfolio_result], tmp_path / "c.html", ["one", "three"])
    html = out.read_text()
    assert html.count('class="plotly-graph-div"') == 2
    assert "<th>one</th>" in html and "<th>three</th>" in html
    assert 'id="compare-table"' in html


def test_session_gaps() -> None:
    import pandas as pd

    days = ["2024-01-02", "2024-01-03", "2024-01-05"]  # a holiday on the 4th
    bars = [pd.date_range(f"{d} 14:30", periods=4, freq="15min", tz="UTC") for d in days]
    index = pd.DatetimeIndex(bars[0].append(bars[1]).append(bars[2]))
    gaps = frames.session_gaps(index)
    # the market is closed from the end of each day's last bar (15:15 + 15 min) to the next open
    assert [(str(a), str(b)) for a, b in gaps] == [
        ("2024-01-02 15:30:00", "2024-01-03 14:30:00"),
        ("2024-01-03 15:30:00", "2024-01-05 14:30:00"),
    ]
    assert frames.session_gaps(pd.date_range("2024-01-01", periods=50, freq="h")) == []
    assert frames.session_gaps(pd.bdate_range("2024-01-01", periods=50)) == []


def test_benchmark_label(single_result: Any, portfolio_result: Any) -> None:
    assert summary.benchmark_label(single_result) == "Buy & hold ASSET"
    assert summary.benchmark_label(portfolio_result) == "Equal-weight buy & hold"
    spy = dataclasses.replace(
        portfolio_result, config={**portfolio_result.config, "benchmark": "AAA"}
    )
    assert summary.benchmark_label(spy) == "Buy & hold AAA"
