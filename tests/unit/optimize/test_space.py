from __future__ import annotations

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.optimize.space import build_space, parse_grid
from alphaforge.strategy.base import Strategy, StrategyParams, param
from alphaforge.strategy.library.sma_cross import SmaCross


class _Mixed(Strategy):
    name = "mixed"

    class Params(StrategyParams):
        n: int = param(3, ge=1, le=4, description="n")
        mode: str = param("a", choices=["a", "b"], description="mode")
        flag: bool = param(False, description="flag")
        x: float = param(0.5, ge=0.0, le=1.0, description="x")


def test_parse_grid_range_inclusive_both_ends() -> None:
    # 5:50:5 -> 5, 10, ..., 50: (50 - 5) / 5 + 1 = 10 values
    d = parse_grid("fast=5:50:5", "int")
    assert d.values == tuple(range(5, 55, 5))
    assert d.is_int


def test_parse_grid_float_and_list_and_single() -> None:
    assert parse_grid("x=0.1:0.3:0.1", "float").values == (0.1, 0.2, 0.3)
    assert parse_grid("mode=a,b").values == ("a", "b")
    assert parse_grid("k=7").values == (7,)


@pytest.mark.parametrize(
    "spec", ["fast", "fast=", "fast=5:1", "fast=1:5:0", "fast=a:b", "fast=1:2:3:4"]
)
def test_parse_grid_errors_name_the_flag(spec: str) -> None:
    with pytest.raises(ConfigError, match="--grid"):
        parse_grid(spec)


def test_space_from_params_bounds() -> None:
    space = build_space(_Mixed, None)
    vals = {d.name: d.values for d in space.dims}
    assert vals["n"] == (1, 2, 3, 4)
    assert vals["mode"] == ("a", "b")
    assert vals["flag"] == (False, True)
    assert vals["x"] is None  # continuous: random / Optuna only
    with pytest.raises(ConfigError, match="continuous"):
        list(space.grid())
    p = space.sample(np.random.default_rng(1))
    assert 0.0 <= p["x"] <= 1.0 and p["n"] in (1, 2, 3, 4)


def test_grid_flags_restrict_and_fixed_params_pass_through() -> None:
    space = build_space(_Mixed, ["n=1:2"], {"mode": "b"})
    pts = list(space.grid())
    assert pts == [{"mode": "b", "n": 1}, {"mode": "b", "n": 2}]


def test_unknown_grid_parameter_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no parameter 'nope'"):
        build_space(SmaCross, ["nope=1:3"])
    with pytest.raises(ConfigError, match="given twice"):
        build_space(SmaCross, ["fast=2:3", "fast=3:4"])


def test_huge_default_grid_is_refused() -> None:
    from alphaforge.optimize.space import check_default_grid

    # sma_cross bounds: fast 2..200 (199 values) x slow 3..400 (398 values) = 79,202 combos
    space = build_space(SmaCross, None)
    assert space.grid_size() == 199 * 398
    with pytest.raises(ConfigError, match="--grid"):
        check_default_grid(space, None)
    check_default_grid(build_space(SmaCross, ["fast=2:5"]), ["fast=2:5"])


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("n=abc", "--grid 'n=abc': n='abc': Input should be a valid integer, unable to parse "
                  "string as an integer"),
        ("n=1,abc", "--grid 'n=1,abc': n='abc': Input should be a valid integer"),
        ("n=0:3", "--grid 'n=0:3': n=0: Input should be greater than or equal to 1"),
        ("n=2.5", "--grid 'n=2.5': n=2.5: Input should be a valid integer, got a number with a "
                  "fractional part"),
        ("mode=a,c", "--grid 'mode=a,c': mode='c': one of a, b"),
        ("x=0.5,2", "--grid 'x=0.5,2': x=2: Input should be less than or equal to 1"),
    ],
)  # fmt: skip
def test_a_grid_value_its_parameter_cannot_take_is_refused(grid: str, message: str) -> None:
    """Not counted among the invalid sets (the rule between parameters, fast below slow): a
    typed value is bad input, refused naming the flag, the parameter and the value."""
    with pytest.raises(ConfigError) as err:
        build_space(_Mixed, [grid])
    assert str(err.value).startswith(message)


def test_sets_the_strategy_refuses_across_parameters_still_pass_the_value_check() -> None:
    space = build_space(SmaCross, ["fast=10,50", "slow=20,30"])  # fast=50 > slow: skipped later
    assert space.grid_size() == 4
