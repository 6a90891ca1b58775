"""The engine against the independent reference simulator on random bars and random signals:
directions, shared cash, costs, sizing, order types and protective exits.

Every expected value comes from ``tests/reference`` (plain Python written from the README's
semantics); the engine must report the same equity and cash at every bar, the same orders
(rejections with their reasons included) and the same trades, to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.reference.compare import Case, check
from tests.reference.generate import costs, exit_rules, fine_bars, random_signals, sizing
from tests.reference.harness import FAST_PATH_MODES, random_bars
from tests.reference.model import ExitRules, RefConfig

SETTINGS = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
DIRECTIONS = st.sampled_from(["long", "short", "long_short"])


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
@settings(SETTINGS, max_examples=60)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(3, 40),
    m=st.sampled_from([1, 1, 2, 3]),
    nan_share=st.sampled_from([0.0, 0.0, 0.1]),
    density=st.sampled_from([0.05, 0.2, 0.4]),
    direction=DIRECTIONS,
    fill=st.sampled_from(["next_open", "next_open", "close"]),
    cost=costs(),
    size=sizing(),
    data=st.data(),
)
def test_market_signals_match_the_reference(
    fast_paths: bool | None, seed: int, n: int, m: int, nan_share: float, density: float,
    direction: str, fill: str, cost: object, size: object, data: st.DataObject,
) -> None:  # fmt: skip
    """Long, short and long/short market orders on symbols sharing one cash account, with every
    sizing method, commission and slippage model, the volume cap, borrow and cash interest."""
    rng = np.random.default_rng(seed)
    bars = random_bars(seed, n, m, nan_share)
    sl = data.draw(st.sampled_from([None, ExitRules().stop_loss]))  # risk sizing needs a stop
    cfg = RefConfig(
        fill=fill, direction=direction, costs=cost, sizing=size,  # type: ignore[arg-type]
        exits=ExitRules(stop_loss=sl),
    )  # fmt: skip
    check(Case(bars, cfg, random_signals(rng, bars, density, "market", False)), fast_paths)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
@settings(SETTINGS, max_examples=60)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(3, 40),
    m=st.sampled_from([1, 1, 2]),
    nan_share=st.sampled_from([0.0, 0.0, 0.1]),
    direction=DIRECTIONS,
    fill=st.sampled_from(["next_open", "next_open", "close"]),
    exits=exit_rules(),
    own_levels=st.booleans(),
    cost=costs(),
    size=sizing(["all_in", "fraction", "shares", "risk"]),
)
def test_protective_exits_match_the_reference(
    fast_paths: bool | None, seed: int, n: int, m: int, nan_share: float, direction: str,
    fill: str, exits: ExitRules, own_levels: bool, cost: object, size: object,
) -> None:  # fmt: skip
    """Stops, targets and trailing stops (pct, abs, atr), per-trade levels from the strategy,
    time exits, stops on the entry bar, and the ambiguity policies (finer bars included)."""
    rng = np.random.default_rng(seed)
    bars = random_bars(seed, n, m, nan_share)
    cfg = RefConfig(
        fill=fill, direction=direction, costs=cost, sizing=size, exits=exits,  # type: ignore[arg-type]
    )  # fmt: skip
    fine = fine_bars(rng, bars) if exits.ambiguity == "finer_bars" else None
    sig = random_signals(rng, bars, 0.25, "market", own_levels)
    check(Case(bars, cfg, sig, fine=fine), fast_paths)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
@settings(SETTINGS, max_examples=60)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(3, 40),
    m=st.sampled_from([1, 1, 2, 3]),
    nan_share=st.sampled_from([0.0, 0.0, 0.1]),
    direction=DIRECTIONS,
    order_type=st.sampled_from(["limit", "stop", "stop_limit"]),
    tif=st.sampled_from(["day", "gtc"]),
    fill=st.sampled_from(["next_open", "next_open", "close"]),
    exits=exit_rules(),
    cost=costs(),
    size=sizing(["all_in", "fraction", "cash", "shares"]),
)
def test_limit_and_stop_entries_match_the_reference(
    fast_paths: bool | None, seed: int, n: int, m: int, nan_share: float, direction: str,
    order_type: str, tif: str, fill: str, exits: ExitRules, cost: object, size: object,
) -> None:  # fmt: skip
    """Limit, stop and stop-limit entries triggered from the bar's range, day and gtc, followed
    by the protective exits of a position entered inside the bar."""
    rng = np.random.default_rng(seed)
    bars = random_bars(seed, n, m, nan_share)
    cfg = RefConfig(
        fill=fill, direction=direction, time_in_force=tif, costs=cost, sizing=size,  # type: ignore[arg-type]
        exits=exits,
    )  # fmt: skip
    fine = fine_bars(rng, bars) if exits.ambiguity == "finer_bars" else None
    sig = random_signals(rng, bars, 0.25, order_type, False)
    check(Case(bars, cfg, sig, order_type=order_type, fine=fine), fast_paths)
