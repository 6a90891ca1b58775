"""Costs are range-checked: a fill price can never be <= 0, and a cost above 10% per fill (a
likely unit mistake: ``--slippage 5`` read as 500%) needs ``costs.allow_high``."""

from __future__ import annotations

import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import HIGH_COST, BacktestConfig


def build(**costs: object) -> BacktestConfig:
    return BacktestConfig.build({"costs": costs})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("slippage", 5),  # a bare number is a fraction: 500%
        ("slippage", "5"),
        ("slippage", "100%"),
        ("slippage", "spread=200%"),  # half the spread per fill: 100%
        ("slippage", "60%+spread=80%"),
        ("commission", "100%"),
        ("commission", 1.5),
        ("commission", "0.005/share,max=100%"),
    ],
)
def test_costs_that_break_the_accounting_are_refused_even_when_allowed(
    key: str, value: object
) -> None:
    for allow in (False, True):
        with pytest.raises(ConfigError) as info:
            build(**{key: value, "allow_high": allow})
        msg = str(info.value)
        assert f"costs.{key}" in msg and repr(value) in msg, msg


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("slippage", "20%"),
        ("slippage", "spread=30%"),  # 15% per fill
        ("slippage", "3atr"),
        ("commission", "15%"),
        ("commission", 0.5),
        ("commission", "0.005/share,max=20%"),
    ],
)
def test_high_costs_need_allow_high(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match="allow_high") as info:
        build(**{key: value})
    assert f"costs.{key}" in str(info.value)
    cfg = build(**{key: value, "allow_high": True})
    assert cfg.costs.allow_high is True


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("slippage", "10%"),
        ("slippage", "spread=20%"),
        ("slippage", "2atr"),
        ("commission", "10%"),
        ("commission", HIGH_COST),
        ("commission", "ib"),
        ("commission", "5/order"),
    ],
)
def test_costs_up_to_the_limit_are_accepted(key: str, value: object) -> None:
    assert build(**{key: value}).costs.allow_high is False


def test_cash_must_be_finite() -> None:
    for cash in (float("inf"), float("nan"), 0.0, -1.0):
        with pytest.raises(ConfigError, match="cash"):
            BacktestConfig.build({"cash": cash})
