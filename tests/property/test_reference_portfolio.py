"""The engine against the independent reference simulator: portfolio limits, risk rules and
target-weight rebalancing (schedules, drift bands), on random bars, signals and weights.

Target-weight rebalances must obey the same limits as entries (max positions, max weight,
sector cap, gross / net leverage, cash reserve, buying power) and report the limit that bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.reference.compare import Case, check
from tests.reference.generate import costs, random_signals, random_weights, risk_rules, sizing
from tests.reference.harness import FAST_PATH_MODES, random_bars
from tests.reference.model import Costs, RefConfig, RiskRules, Sizing

SETTINGS = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
@settings(SETTINGS, max_examples=60)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(3, 40),
    m=st.sampled_from([1, 2, 3, 3]),
    nan_share=st.sampled_from([0.0, 0.0, 0.1]),
    direction=st.sampled_from(["long", "short", "long_short"]),
    fill=st.sampled_from(["next_open", "next_open", "close"]),
    cost=costs(),
    size=sizing(["all_in", "fraction", "cash", "shares", "vol_target", "kelly"]),
    data=st.data(),
)
def test_risk_limits_on_entries_match_the_reference(
    fast_paths: bool | None, seed: int, n: int, m: int, nan_share: float, direction: str,
    fill: str, cost: Costs, size: Sizing, data: st.DataObject,
) -> None:  # fmt: skip
    """Max positions, max weight, sector cap, cash reserve, gross and net leverage, per-trade
    max loss, daily and weekly loss limits and the drawdown breaker with each action."""
    rng = np.random.default_rng(seed)
    bars = random_bars(seed, n, m, nan_share)
    risk: RiskRules = data.draw(risk_rules(m))
    cfg = RefConfig(fill=fill, direction=direction, costs=cost, sizing=size, risk=risk)  # type: ignore[arg-type]
    check(Case(bars, cfg, random_signals(rng, bars, 0.3, "market", False)), fast_paths)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
@settings(SETTINGS, max_examples=60)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(3, 45),
    m=st.sampled_from([1, 2, 3, 3]),
    nan_share=st.sampled_from([0.0, 0.0, 0.1]),
    direction=st.sampled_from(["long", "short", "long_short"]),
    fill=st.sampled_from(["next_open", "next_open", "close"]),
    schedule=st.sampled_from(["every_bar", "daily", "weekly", "monthly", "explicit"]),
    drift=st.sampled_from([0.0, 0.0, 0.02, 0.1]),
    cost=costs(participation=False),
    fractional=st.booleans(),
    limits=st.booleans(),
    data=st.data(),
)
def test_target_weights_match_the_reference(
    fast_paths: bool | None, seed: int, n: int, m: int, nan_share: float, direction: str,
    fill: str, schedule: str, drift: float, cost: Costs, fractional: bool, limits: bool,
    data: st.DataObject,
) -> None:  # fmt: skip
    """Rebalances on a schedule or an explicit mask, inside a drift band, under every limit."""
    rng = np.random.default_rng(seed)
    bars = random_bars(seed, n, m, nan_share)
    risk = data.draw(risk_rules(m)) if limits else RiskRules()
    risk = RiskRules(**{**risk.__dict__, "max_trade_loss": None})  # entries-only rule
    cfg = RefConfig(
        fill=fill, direction=direction, costs=cost, risk=risk, drift_band=drift,  # type: ignore[arg-type]
        sizing=Sizing("all_in", fractional=fractional),
    )  # fmt: skip
    weights = random_weights(rng, bars, schedule == "explicit", direction != "long")
    sched = "monthly" if schedule == "explicit" else schedule
    check(Case(bars, cfg, weights, schedule=sched), fast_paths)
