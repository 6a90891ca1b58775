"""Backtest rules parsed once: value objects, one canonical text each, and a config that
round-trips through its own JSON (the form every result records)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from alphaforge.config.specs import load_run_spec
from alphaforge.core.costs import (
    Commission,
    Level,
    Slippage,
    commission_text,
    level_text,
    parse_commission,
    parse_level,
    parse_slippage,
    slippage_text,
)
from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import BacktestConfig

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))

# Any finite amount, plus the round decimals people write.
amounts = st.one_of(
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=100, places=6).map(float),
)
positive = amounts.filter(lambda x: x > 0)
commissions = st.builds(
    Commission,
    pct=amounts,
    per_share=amounts,
    min_per_order=amounts,
    max_pct=amounts,
    fixed=amounts,
)
slippages = st.builds(Slippage, bps=amounts, spread=amounts, atr=amounts)
levels = st.builds(Level, kind=st.sampled_from(["pct", "atr", "abs"]), value=positive)


# ---- one canonical text, exactly invertible ----------------------------------------------------
@given(commissions)
def test_commission_text_round_trips_exactly(c: Commission) -> None:
    text = commission_text(c)
    assert parse_commission(text) == c
    assert commission_text(parse_commission(text)) == text


@given(slippages)
def test_slippage_text_round_trips_exactly(s: Slippage) -> None:
    text = slippage_text(s)
    assert parse_slippage(text) == s
    assert slippage_text(parse_slippage(text)) == text


@given(levels)
def test_level_text_round_trips_exactly(lv: Level) -> None:
    text = level_text(lv)
    assert parse_level(text, "exits.stop_loss") == lv
    assert level_text(lv) == text


# Fractions a config accepts (with costs.allow_high): below 100% of the price or traded value.
fractions = st.one_of(
    st.floats(min_value=0.0, max_value=0.99, allow_nan=False),
    st.decimals(min_value=0, max_value="0.99", places=6).map(float),
)
config_commissions = st.builds(
    Commission, pct=fractions, per_share=amounts, min_per_order=amounts, max_pct=fractions,
    fixed=amounts,
)  # fmt: skip
config_slippages = st.builds(Slippage, bps=fractions.map(lambda x: x / 2), spread=fractions,
                             atr=amounts)  # fmt: skip


@given(config_commissions, config_slippages, st.none() | levels, st.none() | levels)
def test_config_json_round_trips(
    c: Commission, s: Slippage, stop: Level | None, trail: Level | None
) -> None:
    cfg = BacktestConfig(
        costs={"commission": c, "slippage": s, "allow_high": True},
        direction="long_short",
        exits={"stop_loss": stop, "trailing_stop": trail},
    )  # fmt: skip  (long_short: a stop of 100% or more is refused for longs only)
    doc = json.loads(json.dumps(cfg.model_dump(mode="json")))
    assert BacktestConfig.build(doc) == cfg


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("0.1%", "0.1%"),
        ("10bps", "0.1%"),
        (0.001, "0.1%"),
        ("0.001", "0.1%"),
        ("0.7%", "0.7%"),
        ("ib", "0.005/share,min=1,max=1%"),
        ("1/order + 0.005/share,max=1%,min=1", "0.005/share,min=1,max=1%+1/order"),
        ("0.005/share+1/order", "0.005/share+1/order"),
        ("0", "0"),
        ("none", "0"),
        (None, "0"),
    ],
)
def test_commission_canonical_text(spec: Any, canonical: str) -> None:
    cfg = BacktestConfig.build({"costs": {"commission": spec}})
    assert cfg.model_dump(mode="json")["costs"]["commission"] == canonical


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("5bps", "5bps"),
        ("0.05%", "5bps"),
        (0.0005, "5bps"),
        ("0.1atr + spread=0.1% + 5 bps", "5bps+spread=10bps+0.1atr"),
        ("0", "0"),
    ],
)
def test_slippage_canonical_text(spec: Any, canonical: str) -> None:
    cfg = BacktestConfig.build({"costs": {"slippage": spec}})
    assert cfg.model_dump(mode="json")["costs"]["slippage"] == canonical


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("5%", "5%"),
        ("50bps", "0.5%"),
        ("2atr", "2atr"),
        ("2 ATR", "2atr"),
        ("atr", "1atr"),
        ("1.5", "1.5"),
        ("1.50", "1.5"),
        ("0.7%", "0.7%"),
    ],
)
def test_exit_canonical_text(spec: str, canonical: str) -> None:
    cfg = BacktestConfig.build({"exits": {"stop_loss": spec, "take_profit": spec}})
    dumped = cfg.model_dump(mode="json")["exits"]
    assert dumped["stop_loss"] == dumped["take_profit"] == canonical


def test_percent_is_the_nearest_float_to_the_decimal() -> None:
    # 0.7 / 100 in binary is 0.006999999999999999; "0.7%" means 0.007.
    assert parse_commission("0.7%").pct == 0.007
    assert parse_level("0.7%", "exits.stop_loss") == Level("pct", 0.007)
    assert parse_slippage("0.3bps").bps == 3e-5


# ---- value objects in the config ---------------------------------------------------------------
def test_config_holds_value_objects() -> None:
    cfg = BacktestConfig.build(
        {
            "costs": {"commission": "ib", "slippage": "spread=10bps"},
            "exits": {"stop_loss": "2atr", "take_profit": "10%", "trailing_stop": "1.5"},
        }
    )
    assert cfg.costs.commission == Commission(per_share=0.005, min_per_order=1.0, max_pct=0.01)
    assert cfg.costs.slippage == Slippage(spread=0.001)
    assert cfg.exits.stop_loss == Level("atr", 2.0)
    assert cfg.exits.take_profit == Level("pct", 0.1)
    assert cfg.exits.trailing_stop == Level("abs", 1.5)


def test_parsers_return_value_objects_unchanged() -> None:
    c, s, lv = Commission(pct=0.002), Slippage(atr=0.1), Level("abs", 1.5)
    assert parse_commission(c) is c
    assert parse_slippage(s) is s
    assert parse_level(lv, "exits.stop_loss") is lv
    cfg = BacktestConfig.build({"costs": {"commission": c}, "exits": {"stop_loss": lv}})
    assert cfg.costs.commission is c and cfg.exits.stop_loss is lv


def test_assignment_is_parsed_too() -> None:
    cfg = BacktestConfig()
    cfg.costs.commission = "5bps"  # type: ignore[assignment]
    assert cfg.costs.commission == Commission(pct=0.0005)
    with pytest.raises(ValueError, match="stop_loss"):
        cfg.exits.stop_loss = 0.05  # type: ignore[assignment]


# ---- a number and its text mean the same, or the number is refused ----------------------------
@given(amounts)
def test_cost_numbers_mean_their_text(x: float) -> None:
    def build(key: str, value: object) -> object:
        try:
            costs = {key: value, "allow_high": True}
            return getattr(BacktestConfig.build({"costs": costs}).costs, key)
        except ConfigError as exc:  # 100% or more per fill: refused as number and as text
            assert f"costs.{key}" in str(exc)
            return "refused"

    for key in ("commission", "slippage"):
        assert build(key, x) == build(key, repr(x)), key
    if x < 1:
        assert (
            BacktestConfig.build(
                {"costs": {"commission": x, "allow_high": True}}
            ).costs.commission.pct
            == x
        )
        assert (
            BacktestConfig.build({"costs": {"slippage": x, "allow_high": True}}).costs.slippage.bps
            == x
        )


@pytest.mark.parametrize("key", ["commission", "slippage"])
def test_cost_numbers_in_yaml_mean_their_text(key: str) -> None:
    number = yaml.safe_load(f"costs: {{{key}: 0.002}}")
    text = yaml.safe_load(f"costs: {{{key}: '0.002'}}")
    assert BacktestConfig.build(number) == BacktestConfig.build(text)


@pytest.mark.parametrize("key", ["stop_loss", "take_profit", "trailing_stop"])
@pytest.mark.parametrize("value", [1.5, 2, 0.05, -1])
def test_bare_exit_numbers_are_refused(key: str, value: float) -> None:
    with pytest.raises(ConfigError) as err:
        BacktestConfig.build({"exits": {key: value}}, source="run.yaml")
    msg = str(err.value)
    assert msg.startswith(f"run.yaml: exits.{key}: ")
    assert msg.endswith(f"(got {value!r})")
    assert "5%" in msg and "2atr" in msg and '"1.5"' in msg
    assert "\n" not in msg


@pytest.mark.parametrize("key", ["stop_loss", "take_profit", "trailing_stop"])
@pytest.mark.parametrize("off", [0, 0.0, None, "none", "off", "0", ""])
def test_exit_off(key: str, off: Any) -> None:
    assert getattr(BacktestConfig.build({"exits": {key: off}}).exits, key) is None


def test_quoted_exit_number_is_a_price_distance() -> None:
    cfg = BacktestConfig.build(yaml.safe_load('exits: {stop_loss: "1.5"}'))
    assert cfg.exits.stop_loss == Level("abs", 1.5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"costs": {"commission": True}}, r"costs.commission: a number is expected here, not"),
        ({"cash": True}, r"cash: a number is expected here, not true / false"),  # was cash 1.0
        ({"exits": {"stop_loss": "100%"}}, r"exits: stop_loss: 100% under a long position"),
        ({"exits": {"trailing_stop": "500%"}}, r"exits: trailing_stop: 500% under a long"),
        ({"sizing": {"method": "fraction", "value": True}}, r"sizing.value: a number is"),
        ({"risk": {"max_weight": False}}, r"risk.max_weight: a number is expected"),
        ({"costs": {"commission": "0.1%+5bps"}}, r"costs.commission: .*percent part twice"),
        ({"costs": {"slippage": "2bps+3bps"}}, r"costs.slippage: .*part twice"),
        ({"costs": {"slippage": "-5bps"}}, r"costs.slippage: negative slippage"),
        ({"costs": {"commission": float("inf")}}, r"costs.commission: .*not a finite"),
        ({"exits": {"take_profit": "-5%"}}, r"exits.take_profit: distance must be positive"),
        ({"exits": {"trailing_stop": "inf"}}, r"exits.trailing_stop: cannot read"),
    ],
)
def test_bad_specs_name_key_and_value(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"^run.yaml: " + message) as err:
        BacktestConfig.build(data, source="run.yaml")
    msg = str(err.value)
    (section,) = data.values()
    value = list(section.values())[-1] if isinstance(section, dict) else section
    # the value is named once: in the check's own words or as "(got ...)", not both
    assert "(got " in msg or repr(value) in msg, msg
    if isinstance(value, str):
        assert msg.count(repr(value)) <= 1, msg
    assert "\n" not in msg


# ---- settings that act or are refused ----------------------------------------------------------
def test_seed_is_not_a_backtest_setting() -> None:
    with pytest.raises(ConfigError, match=r"^config: seed: unknown key \(got 0\)$"):
        BacktestConfig.build({"seed": 0})


def test_order_type_defaults_to_auto() -> None:
    assert BacktestConfig().order_type == "auto"
    for kind in ("auto", "market", "limit", "stop", "stop_limit"):
        assert BacktestConfig.build({"order_type": kind}).order_type == kind
    with pytest.raises(ConfigError, match="order_type"):
        BacktestConfig.build({"order_type": "iceberg"})


@pytest.mark.parametrize("bad", [0, -252, float("nan"), float("inf"), "often"])
def test_periods_per_year_must_be_positive(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"^config: periods_per_year: "):
        BacktestConfig.build({"periods_per_year": bad})


def test_periods_per_year_is_a_setting() -> None:
    assert BacktestConfig().periods_per_year is None
    assert BacktestConfig.build({"periods_per_year": 52}).periods_per_year == 52.0


# ---- the resolved config round-trips ------------------------------------------------------------
BUILT: list[dict[str, Any]] = [
    {},
    {
        "cash": 25_000,
        "fill": "close",
        "direction": "long_short",
        "order_type": "limit",
        "time_in_force": "gtc",
        "costs": {
            "commission": "0.005/share,min=1,max=1%+1/order",
            "slippage": "2bps+spread=10bps+0.1atr",
            "participation": 0.1,
            "borrow_fee": 0.01,
            "margin": 1.5,
            "cash_rate": 0.02,
        },
        "exits": {
            "stop_loss": "2atr",
            "take_profit": "0.7%",
            "trailing_stop": "1.25",
            "max_bars": 10,
            "stop_on_entry_bar": False,
            "ambiguity": "target_first",
            "atr_period": 20,
        },
        "sizing": {"method": "risk", "value": 0.02, "fractional": True},
        "risk": {
            "max_positions": 3,
            "max_weight": 0.4,
            "max_sector_exposure": 0.6,
            "sectors": {"A": "tech", "B": "banks"},
            "min_cash": 0.05,
            "max_gross_leverage": 1.5,
            "max_net_leverage": 0.5,
            "max_trade_loss": 0.02,
            "daily_loss_limit": 0.03,
            "weekly_loss_limit": 0.05,
            "max_drawdown": 0.2,
            "drawdown_action": "halt",
        },
        "rebalance": "weekly",
        "drift_band": 0.05,
        "risk_free": 0.01,
        "benchmark": "A",
        "record_positions": False,
    },
    {
        "costs": {"commission": 0.0015, "slippage": 0},
        "exits": {"stop_loss": 0, "take_profit": "3atr"},
        "sizing": {"method": "vol_target", "value": 0.1},
        "calendar": "24/7",
        "timeframe": "1h",
        "periods_per_year": 8760,
    },
]


def _configs() -> list[tuple[str, BacktestConfig]]:
    out = [(p.name, load_run_spec(p).backtest_config()) for p in EXAMPLES]
    return out + [(f"built{i}", BacktestConfig.build(d)) for i, d in enumerate(BUILT)]


def test_there_are_example_configs() -> None:
    assert EXAMPLES


@pytest.mark.parametrize(("name", "cfg"), _configs(), ids=lambda v: v if isinstance(v, str) else "")
def test_resolved_config_round_trips(name: str, cfg: BacktestConfig) -> None:
    run = cfg.resolved(timeframe="1d", calendar="XNYS", periods_per_year=252.0)
    assert (run.timeframe, run.calendar, run.periods_per_year) == ("1d", "XNYS", 252.0)
    assert run.model_dump(exclude={"timeframe", "calendar", "periods_per_year"}) == cfg.model_dump(
        exclude={"timeframe", "calendar", "periods_per_year"}
    )
    doc = run.model_dump(mode="json")
    for text in (json.dumps(doc), yaml.safe_dump(doc)):
        again = BacktestConfig.build(yaml.safe_load(text), source=name)
        assert again == run
        assert again.model_dump(mode="json") == doc


def test_resolved_validates() -> None:
    with pytest.raises(ConfigError, match="periods_per_year"):
        BacktestConfig().resolved(timeframe="1d", calendar="XNYS", periods_per_year=0.0)


def test_resolved_records_the_order_type_used() -> None:
    cfg = BacktestConfig()
    assert (
        cfg.resolved(timeframe="1d", calendar="XNYS", periods_per_year=252.0).order_type == "auto"
    )
    run = cfg.resolved(timeframe="1d", calendar="XNYS", periods_per_year=252.0, order_type="limit")
    assert run.order_type == "limit"
    assert BacktestConfig.build(run.model_dump(mode="json")) == run


def test_a_stop_over_100_percent_is_valid_for_shorts() -> None:
    """A short's stop 150% above its price can trigger (the price more than doubles)."""
    for direction in ("short", "long_short"):
        cfg = BacktestConfig.build({"direction": direction, "exits": {"stop_loss": "150%"}})
        assert cfg.exits.stop_loss is not None and cfg.exits.stop_loss.value == 1.5
