"""SPEC strings and config validation: values worked out by hand from the documented syntax."""

from __future__ import annotations

import pytest

from alphaforge.core.costs import (
    Commission,
    Level,
    Slippage,
    parse_commission,
    parse_level,
    parse_slippage,
)
from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import BacktestConfig


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0.1%", Commission(pct=0.001)),
        ("5bps", Commission(pct=0.0005)),
        ("0", Commission()),
        ("0.005/share", Commission(per_share=0.005)),
        ("0.005/share,min=1,max=1%", Commission(per_share=0.005, min_per_order=1.0, max_pct=0.01)),
        ("ib", Commission(per_share=0.005, min_per_order=1.0, max_pct=0.01)),
        ("1/order", Commission(fixed=1.0)),
        ("0.005/share + 1/order", Commission(per_share=0.005, fixed=1.0)),
        (0.002, Commission(pct=0.002)),
    ],
)
def test_parse_commission(spec: str, expected: Commission) -> None:
    got = parse_commission(spec)
    assert got.__dict__ == pytest.approx(expected.__dict__)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("5bps", Slippage(bps=0.0005)),
        ("0.05%", Slippage(bps=0.0005)),
        ("spread=10bps", Slippage(spread=0.001)),
        ("0.1atr", Slippage(atr=0.1)),
        ("2bps+spread=4bps+0.5atr", Slippage(bps=0.0002, spread=0.0004, atr=0.5)),
        ("0", Slippage()),
    ],
)
def test_parse_slippage(spec: str, expected: Slippage) -> None:
    assert parse_slippage(spec).__dict__ == pytest.approx(expected.__dict__)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("5%", Level("pct", 0.05)),
        ("2atr", Level("atr", 2.0)),
        ("1.5", Level("abs", 1.5)),
        ("none", None),
        ("0", None),
        (None, None),
    ],
)
def test_parse_level(spec: str | None, expected: Level | None) -> None:
    assert parse_level(spec, "exits.stop_loss") == expected


@pytest.mark.parametrize(
    "bad", ["abc", "0.1%%", "5/lot", "-1%", "0.1%+5bps", "0.005/share,min=x", "inf%", "nan"]
)
def test_bad_commission_names_the_key(bad: str) -> None:
    with pytest.raises(ConfigError, match="commission"):
        parse_commission(bad)


def test_bad_level_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"exits\.stop_loss"):
        parse_level("-5%", "exits.stop_loss")


def test_config_errors_name_key_and_value() -> None:
    with pytest.raises(ConfigError) as err:
        BacktestConfig.build({"costs": {"comission": "0.1%"}}, source="run.yaml")
    assert str(err.value) == "run.yaml: costs.comission: unknown key (got '0.1%')"
    with pytest.raises(ConfigError, match=r"run.yaml: cash: .*greater than 0 \(got -5\)"):
        BacktestConfig.build({"cash": -5}, source="run.yaml")
    with pytest.raises(ConfigError, match=r"sizing.method"):
        BacktestConfig.build({"sizing": {"method": "everything"}}, source="run.yaml")


def test_defaults_are_the_honest_ones() -> None:
    cfg = BacktestConfig()
    assert cfg.fill == "next_open"
    assert cfg.costs.commission == Commission(pct=0.001)
    assert cfg.costs.slippage == Slippage(bps=0.0005)
    assert cfg.order_type == "auto"
    assert cfg.sizing.fractional is False
