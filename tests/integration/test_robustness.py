"""Robustness checks on the seeded synthetic sample: each variant is the plain backtest with
one input changed, so each row must equal a backtest run directly with that input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.costs import Commission, Slippage
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.data.sample import INDEX_SYMBOL, generate_daily
from alphaforge.services.backtest import backtest
from alphaforge.services.robustness import (
    METRICS,
    RobustnessCase,
    cost_check,
    neighbour_check,
    neighbour_params,
    run_robustness,
    scale_costs,
    start_check,
    subset_check,
)
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.registry import make_strategy

pytestmark = pytest.mark.integration

PARAMS = {"fast": 10, "slow": 30}


@pytest.fixture(scope="module")
def panel() -> Panel:
    bars = generate_daily(seed=3, n_symbols=6, years=3)
    return Panel.from_long(bars[bars["symbol"] != INDEX_SYMBOL], timeframe="1d")


@pytest.fixture(scope="module")
def config() -> BacktestConfig:
    return BacktestConfig.build(
        {
            "costs": {
                "commission": "0.005/share,min=1,max=1%+1/order",
                "slippage": "5bps+spread=10bps+0.1atr",
                "borrow_fee": 0.01,
            },
            "sizing": {"method": "fraction", "value": 0.15},
            "direction": "long_short",  # (a borrow fee acts on shorts only)
            "benchmark": "SYN01",
        }
    )


@pytest.fixture(scope="module")
def case(panel: Panel, config: BacktestConfig) -> RobustnessCase:
    return RobustnessCase("sma_cross", PARAMS, config, panel)


def _row_metrics(row: pd.Series, result: BacktestResult) -> None:
    """A table row holds the metrics of ``result``."""
    m = result.metrics
    assert row["total_return"] == m["total_return"]
    assert row["sharpe"] == m["sharpe"]
    assert row["max_drawdown"] == m["max_drawdown"]
    assert row["profit_factor"] == m["profit_factor"]
    assert row["trades"] == len(result.trades)
    assert row["final_equity"] == result.equity.iloc[-1]


# ---- costs --------------------------------------------------------------------------------------
def test_scale_costs_multiplies_every_cost_part(config: BacktestConfig) -> None:
    assert scale_costs(config, 1.0) == config
    doubled = scale_costs(config, 2.0).costs
    assert doubled.commission == Commission(per_share=0.01, min_per_order=2, max_pct=0.02, fixed=2)
    assert doubled.slippage == Slippage(bps=0.001, spread=0.002, atr=0.2)
    assert doubled.borrow_fee == 0.02
    assert (doubled.participation, doubled.margin, doubled.cash_rate) == (0.0, 1.0, 0.0)
    free = scale_costs(config, 0.0).costs
    assert free.commission == Commission() and free.slippage == Slippage()
    with pytest.raises(ConfigError, match="multiplier"):
        scale_costs(config, -1.0)


def test_one_times_costs_is_the_plain_backtest(case: RobustnessCase) -> None:
    table = cost_check(case).table
    plain = run_backtest(make_strategy("sma_cross", PARAMS), case.panel, case.config)
    one = table[table["multiplier"] == 1.0].iloc[0]
    _row_metrics(one, plain)
    again = case.run(config=scale_costs(case.config, 1.0))
    np.testing.assert_array_equal(again.equity_values, plain.equity_values)


def test_more_costs_never_end_richer(case: RobustnessCase) -> None:
    table = cost_check(case).table
    assert table["multiplier"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert (table["status"] == "ok").all() and (table["trades"] > 10).all()
    equity = table["final_equity"].to_numpy()
    assert np.all(np.diff(equity) < 0)  # 0x > 1x > 2x > 3x
    direct = backtest("sma_cross", case.panel, params=PARAMS, config=scale_costs(case.config, 3))
    _row_metrics(table.iloc[3], direct)


# ---- parameter neighbours -----------------------------------------------------------------------
def test_neighbours_have_the_right_values(case: RobustnessCase) -> None:
    table = neighbour_check(case).table
    got = list(zip(table["param"], table["value"], strict=True))
    # 10 * (0.8, 0.9, 1.1, 1.2) and 30 * (0.8, 0.9, 1.1, 1.2), the other parameter unchanged
    assert got == [
        (p, v) for p, vs in (("fast", (8, 9, 11, 12)), ("slow", (24, 27, 33, 36))) for v in vs
    ]
    assert (table["status"] == "ok").all()
    row = table[(table["param"] == "slow") & (table["value"] == 27)].iloc[0]
    _row_metrics(row, backtest("sma_cross", case.panel, params={"fast": 10, "slow": 27},
                               config=case.config))  # fmt: skip


def test_invalid_neighbours_are_skipped_with_the_reason() -> None:
    close = {(n.param, n.step): n for n in neighbour_params("sma_cross", {"fast": 10, "slow": 11})}
    assert close[("fast", 0.1)].params is None  # 11 is not below slow = 11
    assert "smaller than slow" in close[("fast", 0.1)].reason
    assert close[("slow", -0.1)].value == 10 and close[("slow", -0.1)].params is None
    assert close[("slow", 0.2)].params == {"fast": 10, "slow": 13}  # 13.2 rounds to 13
    edge = {(n.param, n.step): n for n in neighbour_params("sma_cross", {"fast": 3, "slow": 380})}
    assert edge[("fast", -0.2)].params == {"fast": 2, "slow": 380}  # 2.4 -> 2, the lower bound
    assert edge[("fast", 0.1)].reason == "same as the base value"  # 3.3 -> 3
    assert edge[("fast", 0.2)].value == 4  # 3.6 -> 4
    assert edge[("slow", 0.1)].value == 418 and "less than or equal to 400" in (
        edge[("slow", 0.1)].reason
    )


def test_skipped_neighbours_stay_in_the_table(panel: Panel, config: BacktestConfig) -> None:
    case = RobustnessCase("sma_cross", {"fast": 10, "slow": 11}, config, panel.select(["SYN01"]))
    table = neighbour_check(case).table
    skipped = table[table["status"] == "skipped"]
    assert set(zip(skipped["param"], skipped["step"], strict=True)) == {
        ("fast", 0.1),
        ("fast", 0.2),
        ("slow", -0.2),
        ("slow", -0.1),
    }
    assert skipped[list(METRICS)].isna().all().all()
    assert (skipped["reason"] != "").all()


# ---- start shifts -------------------------------------------------------------------------------
def test_start_shifts_start_later(case: RobustnessCase) -> None:
    table = start_check(case).table
    n = len(case.panel.index)
    starts = [round(f * n) for f in (0.0, 0.05, 0.1, 0.2)]
    assert table["bars"].tolist() == [n - k for k in starts]
    assert table["start"].tolist() == [case.panel.index[k] for k in starts]
    later = backtest("sma_cross", case.panel, params=PARAMS, config=case.config,
                     start=case.panel.index[starts[2]])  # fmt: skip
    _row_metrics(table.iloc[2], later)
    assert later.index[0] == case.panel.index[starts[2]]


# ---- symbol subsets -----------------------------------------------------------------------------
def test_subsets_are_reproducible_and_distinct(case: RobustnessCase) -> None:
    first = subset_check(case, n_subsets=5, seed=4).table
    again = subset_check(case, n_subsets=5, seed=4).table
    assert first.equals(again)
    other = subset_check(case, n_subsets=5, seed=5).table
    assert first["symbols"].tolist() != other["symbols"].tolist()
    picks = [s.split(",") for s in first["symbols"]]
    assert len(set(map(tuple, picks))) == 5
    for pick in picks:
        assert len(pick) == 3 and pick == sorted(pick, key=case.panel.symbols.index)
    direct = backtest("sma_cross", case.panel, params=PARAMS, symbols=picks[0],
                      config=case.config.model_copy(update={"benchmark": None}))  # fmt: skip
    _row_metrics(first.iloc[0], direct)


def test_subsets_need_four_symbols(case: RobustnessCase) -> None:
    small = RobustnessCase("sma_cross", PARAMS, case.config, case.panel.select(["SYN01", "SYN02"]))
    result = subset_check(small)
    assert result.table.empty and "needs at least 4" in result.verdict
    assert math.isnan(result.share_positive)


# ---- the report ---------------------------------------------------------------------------------
def test_report_verdicts(case: RobustnessCase) -> None:
    report = run_robustness(case, n_subsets=3)
    assert list(report.tables) == ["costs", "neighbours", "start", "subsets"]
    costs = report.costs.table
    two = costs[costs["multiplier"] == 2.0]["sharpe"].iloc[0]
    assert report.sharpe_at_costs(2.0) == two
    assert report.sharpe_at_costs(5.0) is None
    for t in report.tables.values():
        sharpe = t.table.loc[t.table["status"] == "ok", "sharpe"]
        assert t.share_positive == pytest.approx((sharpe > 0).mean())
        assert t.worst_sharpe == sharpe.min()
        assert t.verdict.startswith(f"{t.check}: {(sharpe > 0).sum()} of {len(sharpe)} variants")
