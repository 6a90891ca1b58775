"""The tear sheet's price chart (markers at fill prices, stop / target levels, symbol dropdown,
candles vs a thinned line), its Rejected orders section and the adjustment shown."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from tests.unit.reports.conftest import SMA, long_bars, random_walk

from alphaforge.reports import charts_price
from alphaforge.reports.charts_price import price_figure, trade_levels
from alphaforge.reports.tearsheet import build_figures, figure_html, tearsheet_html
from alphaforge.services.backtest import backtest
from alphaforge.sim.result import BacktestResult


@pytest.fixture(scope="module")
def crowded() -> Any:
    """Three symbols, all-in sizing on one account: later entries find no cash and are
    rejected; 5% stops and 10% targets."""
    bars = long_bars({s: random_walk(20 + i, 500) for i, s in enumerate(("AAA", "BBB", "CCC"))})
    return backtest("sma_cross", bars, params=SMA, stop_loss="5%", take_profit="10%")


def _points(fig: go.Figure, name: str, visible_only: bool = False) -> list[tuple[str, float]]:
    """(date, price) of every marker of traces called ``name``."""
    out = []
    for tr in fig.data:
        if tr.name == name and (tr.visible or not visible_only):
            days = pd.DatetimeIndex(np.asarray(tr.x, dtype="datetime64[ns]")).strftime("%Y-%m-%d")
            out += list(zip(days, np.asarray(tr.y, dtype=float).tolist(), strict=True))
    return sorted(out)


def _fills(trades: pd.DataFrame, side: str, when: str, price: str) -> list[tuple[str, float]]:
    t = trades[trades["direction"] == side]
    days = pd.DatetimeIndex(t[when]).strftime("%Y-%m-%d")
    return sorted(zip(days, t[price].astype(float).tolist(), strict=True))


def test_markers_are_the_trades_fill_prices(crowded: Any) -> None:
    fig = price_figure(crowded)
    trades = crowded.trades
    assert len(trades) > 10
    assert _points(fig, "long entries") == _fills(trades, "long", "entry_time", "entry_price")
    assert _points(fig, "long exits") == _fills(trades, "long", "exit_time", "exit_price")


def test_stop_and_target_levels_by_hand() -> None:
    trades = pd.DataFrame({"entry_price": [200.0, 200.0], "direction": ["long", "short"]})
    pct = {"exits": {"stop_loss": "5%", "take_profit": "10%"}}
    np.testing.assert_allclose(trade_levels(trades, pct, "stop_loss"), [190.0, 210.0])
    np.testing.assert_allclose(trade_levels(trades, pct, "take_profit"), [220.0, 180.0])
    dist = {"exits": {"stop_loss": "1.5"}}  # a price distance
    np.testing.assert_allclose(trade_levels(trades, dist, "stop_loss"), [198.5, 201.5])
    off: list[dict[str, Any]] = [{"exits": {"stop_loss": "2atr"}}, {"exits": {}}, {}]
    for cfg in off:
        assert np.isnan(trade_levels(trades, cfg, "stop_loss")).all()


def test_stop_segments_span_each_trade(crowded: Any) -> None:
    fig = price_figure(crowded)
    sym = fig.layout.updatemenus[0].buttons[0].label
    t = crowded.trades[crowded.trades["symbol"] == sym]
    stop = next(tr for tr in fig.data if tr.name == "stop" and tr.visible)
    levels = [y for y in stop.y if y is not None]
    expected = np.repeat(t["entry_price"].to_numpy() * 0.95, 2)  # 5% below each long entry
    np.testing.assert_allclose(levels, expected, rtol=1e-12)


def test_dropdown_shows_one_symbol_at_a_time(crowded: Any) -> None:
    fig = price_figure(crowded)
    buttons = fig.layout.updatemenus[0].buttons
    counts = crowded.trades["symbol"].value_counts()
    assert [b.label for b in buttons] == sorted(counts.index, key=lambda s: (-counts[s], s))
    for b in buttons:
        visible = b.args[0]["visible"]
        shown = {tr.legendgroup for tr, v in zip(fig.data, visible, strict=True) if v}
        assert shown == {b.label}
    assert [tr.legendgroup for tr in fig.data if tr.visible] == [buttons[0].label] * sum(
        bool(v) for v in buttons[0].args[0]["visible"]
    )


def test_candles_for_short_samples_thinned_line_for_long(
    single_result: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(price_figure(single_result).data[0], go.Candlestick)
    monkeypatch.setattr(charts_price, "MAX_CANDLES", 100)
    monkeypatch.setattr(charts_price, "MAX_LINE_POINTS", 20)
    fig = price_figure(single_result)
    line = fig.data[0]
    assert isinstance(line, go.Scatter) and len(line.y) == 21  # 800 bars: every 40th + the last
    trades = single_result.trades
    assert len(trades) > 21  # more markers than line points: markers are never thinned
    assert _points(fig, "long entries") == _fills(trades, "long", "entry_time", "entry_price")


def test_saved_result_draws_closes_and_the_same_markers(crowded: Any, tmp_path: Path) -> None:
    saved = BacktestResult.from_json(crowded.to_json(tmp_path / "r.json"))
    fig = price_figure(saved)
    assert not any(isinstance(tr, go.Candlestick) for tr in fig.data)
    assert _points(fig, "long exits") == _points(price_figure(crowded), "long exits")


def test_result_without_prices_explains_the_missing_chart(single_result: Any) -> None:
    bare = dataclasses.replace(single_result, data_arrays=None, close_values=None)
    fig = price_figure(bare)
    assert "re-run the backtest with --report" in fig.layout.annotations[0].text


def test_html_size_for_ten_years_of_twenty_symbols() -> None:
    """10 years of daily bars x 20 symbols: a close line per symbol, every marker kept."""
    bars = long_bars({f"S{i:02d}": random_walk(100 + i, 2520) for i in range(20)})
    res = backtest("sma_cross", bars, params={"fast": 10, "slow": 30},
                   sizing={"method": "fraction", "value": 0.05})  # fmt: skip
    fig = price_figure(res)
    assert len(fig.layout.updatemenus[0].buttons) == 20
    entries = sum(len(tr.y) for tr in fig.data if tr.name == "long entries")
    assert entries == res.num_trades
    size = len(figure_html(fig, "chart-price"))
    assert size < 1_600_000, size  # about 75 kB per symbol-decade


def _reference_counts(result: Any) -> dict[str, int]:
    from alphaforge.sim import codes

    raw = result.order_records
    rejected = raw[raw["status"] == codes.STATUS_REJECTED]
    reasons, counts = np.unique(rejected["reason"], return_counts=True)
    return {codes.REASON_NAMES[int(r)]: int(n) for r, n in zip(reasons, counts, strict=True)}


def test_rejected_orders_section(crowded: Any) -> None:
    expected = _reference_counts(crowded)
    assert expected.get("insufficient_cash", 0) > 0
    html = tearsheet_html(crowded)
    total = sum(expected.values())
    assert f"Rejected orders ({total})" in html
    assert f"{total} of {len(crowded.order_records)} orders rejected" in html
    assert 'class="warnings reject-box"' in html
    section = html.split('id="rejected-table"')[1].split("</table>")[0]
    assert section.count("<tr>") - 1 == min(total, 200)  # header row + one per order
    first = crowded.orders[crowded.orders["status"] == "rejected"].iloc[0]
    bar = crowded.index.get_loc(first["time"])
    assert f'<td>{bar}</td><td class="l">{first["time"]:%Y-%m-%d}</td>' in section
    for reason, n in expected.items():
        assert f"<tr><td>{reason}</td><td>{n}</td>" in html
    assert (
        f"{total} of {len(crowded.order_records)} orders rejected"
        in html.split('id="warnings"')[1].split("</section>")[0]
    )


def test_no_rejection_says_so(zero_trade_result: Any, single_result: Any) -> None:
    assert not _reference_counts(single_result)
    html = tearsheet_html(single_result)
    assert "Rejected orders (0)" in html and "reject-box" not in html.split("<body>")[1]


def test_adjustment_is_shown(single_result: Any) -> None:
    assert single_result.config["adjust"] is True
    figs = build_figures(single_result)
    assert "split/dividend-adjusted (adjust: true)" in tearsheet_html(single_result, figures=figs)
    raw = dataclasses.replace(single_result, config={**single_result.config, "adjust": False})
    assert "raw, unadjusted (adjust: false)" in tearsheet_html(raw, figures=figs)
