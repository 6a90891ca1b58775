"""Rules that no strategy can make act are refused by the run spec (YAML, the backtest flags,
paper, live), naming the file, the key and the value: ``time_in_force: gtc`` with
``order_type: market`` (only limit / stop entries are kept working), ``costs.borrow_fee`` and
``costs.margin`` on a long-only run (both apply to shorts), and a fraction position size or a
``risk.max_weight`` above buying power (``risk.max_gross_leverage`` x equity, 1x without it:
every entry is cut to it first). They were accepted and changed nothing, which the last tests
check on the engine (whose own config still takes them): with and without each, the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.specs import RunSpec, load_run_spec
from alphaforge.core.errors import ConfigError
from alphaforge.services.accounts import sleeve_spec
from alphaforge.sim.result import BacktestResult
from alphaforge.strategy.base import Signals
from tests.scenarios._helpers import make_panel, run

LONG_EXITS = {"exits": {"stop_loss": "5%"}}

# (id, spec keys, key named, value as the message writes it)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    ("gtc-market", {"order_type": "market", "time_in_force": "gtc"}, "time_in_force", "'gtc'"),
    ("borrow-fee-long", {"costs": {"borrow_fee": "1%"}}, "costs.borrow_fee", "1%"),
    ("margin-long", {"costs": {"margin": 1.5}}, "costs.margin", "1.5"),
    ("size-over-cash", {"sizing": {"method": "fraction", "value": 1.5}}, "sizing.value", "150%"),
    (
        "size-over-leverage",
        {"sizing": {"method": "fraction", "value": 2.5}, "risk": {"max_gross_leverage": 2}},
        "sizing.value",
        "250%",
    ),
    (
        "size-over-low-leverage",
        {"sizing": {"method": "fraction", "value": 0.8}, "risk": {"max_gross_leverage": 0.5}},
        "sizing.value",
        "80%",
    ),
    ("weight-over-cash", {"risk": {"max_weight": 2.0}}, "risk.max_weight", "200%"),
    (
        "weight-over-cash-short",
        {"direction": "short", "risk": {"max_weight": "150%"}},
        "risk.max_weight",
        "150%",
    ),
    (
        "weight-over-leverage",
        {"direction": "long_short", "risk": {"max_weight": 3, "max_gross_leverage": 2}},
        "risk.max_weight",
        "300%",
    ),
]
REFUSED += [
    # a position's value is at most the gross exposure, which buying power caps: a limit equal
    # to it never binds (the live command took it for a position limit)
    ("weight-all", {"risk": {"max_weight": 1.0}}, "risk.max_weight", "100%"),
    ("weight-all-levered", {"risk": {"max_weight": 2, "max_gross_leverage": 2}},
     "risk.max_weight", "200%"),
]  # fmt: skip
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("gtc-auto", {"time_in_force": "gtc"}),  # the strategy's limit / stop prices decide
    ("gtc-limit", {"order_type": "limit", "time_in_force": "gtc"}),
    ("borrow-fee-short", {"direction": "short", "costs": {"borrow_fee": "1%", "margin": 1.5}}),
    ("borrow-fee-long-short", {"direction": "long_short", "costs": {"borrow_fee": 0.01}}),
    ("size-all-cash", {"sizing": {"method": "fraction", "value": 1.0}}),
    (
        "size-levered",
        {"sizing": {"method": "fraction", "value": 1.5}, "risk": {"max_gross_leverage": 2}},
    ),
    ("size-cash-amount", {"sizing": {"method": "cash", "value": 250_000}}),  # not a fraction
    ("weight-below-all", {"risk": {"max_weight": 0.99}}),
    ("weight-levered", {"risk": {"max_weight": 1.2, "max_gross_leverage": 1.5}}),
    ("defaults-written", RunSpec().model_dump(mode="json")),  # a stored spec reads back
]


def _yaml(tmp_path: Path, keys: dict[str, Any]) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps({"strategy": "sma_cross", "symbols": ["A"], **keys}))
    return path


@pytest.mark.parametrize(
    ("keys", "key", "value"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_an_idle_rule_is_refused_naming_file_key_and_value(
    tmp_path: Path, keys: dict[str, Any], key: str, value: str
) -> None:
    path = _yaml(tmp_path, keys)
    with pytest.raises(ConfigError) as err:
        load_run_spec(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {key}: "), text
    assert text.endswith(f"(got {value})"), text
    assert "\n" not in text


@pytest.mark.parametrize("keys", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_a_rule_that_can_act_is_accepted(tmp_path: Path, keys: dict[str, Any]) -> None:
    spec = load_run_spec(_yaml(tmp_path, keys))
    again = RunSpec.model_validate(json.loads(spec.model_dump_json()))  # as the ledger reads it
    assert again.canonical_hash() == spec.canonical_hash()


def test_the_command_line_overrides_are_checked_too() -> None:
    over = {"strategy": "sma_cross", "sizing": {"method": "fraction", "value": 1.5}}
    with pytest.raises(ConfigError, match=r"^command line: sizing.value: .*\(got 150%\)$"):
        load_run_spec(None, over)


def _account(tmp_path: Path, run_keys: dict[str, Any], sleeve_keys: dict[str, Any]) -> RunSpec:
    sleeve = {"strategy": "sma_cross", "allocation": 0.5, **sleeve_keys}
    path = tmp_path / "account.yaml"
    path.write_text(json.dumps({"symbols": ["A"], "strategies": [sleeve], **run_keys}))
    return load_run_spec(path)


def test_an_account_checks_each_strategy_with_its_own_limits(tmp_path: Path) -> None:
    """The run's size is each strategy's unless it replaces it; a strategy's ``risk:`` may
    raise the leverage that makes a size above 100% act."""
    size = {"sizing": {"method": "fraction", "value": 1.5}}
    spec = _account(tmp_path, size, {})
    with pytest.raises(ConfigError, match=r"account.yaml: strategies\[0\]: sizing.value: "):
        sleeve_spec(spec, 0)
    levered = _account(tmp_path, size, {"risk": {"max_gross_leverage": 2}})
    assert sleeve_spec(levered, 0).sizing.value == 1.5
    with pytest.raises(ConfigError, match=r"account.yaml: costs.borrow_fee: .*\(got 2%\)$"):
        _account(tmp_path, {"costs": {"borrow_fee": 0.02}}, {})


# ---- the refused rules change nothing on the engine -----------------------------------------
N = 30


def _signals(direction: str = "long", limits: bool = False) -> Signals:
    """A and B both want to be held (A from bar 2's signal, B from bar 5's) until bars 14 and
    20, then again from bar 17 to bar 26 (short too when ``direction`` is not long);
    ``limits``: entries with limit prices 1% under the close, which a market run does not
    use."""
    entries, exits = np.zeros((N, 2), dtype=bool), np.zeros((N, 2), dtype=bool)
    entries[[2, 17], 0] = entries[[5, 17], 1] = True
    exits[[14, 26], 0] = exits[[20, 26], 1] = True
    limit = np.where(entries, 0.99 * _PANEL.close, np.nan) if limits else None
    if direction == "long":
        return Signals(entries=entries, exits=exits, limit_price=limit)
    none = np.zeros((N, 2), dtype=bool)
    if direction == "short":
        return Signals(entries=none, exits=none, short_entries=entries, short_exits=exits)
    return Signals(entries=entries[:, ::-1], exits=exits[:, ::-1], short_entries=entries,
                   short_exits=exits)  # fmt: skip


def _bars(drift: float, swing: float) -> list[tuple[float, float, float, float]]:
    out = []
    for t in range(N):
        c = 100.0 * (1 + drift * t) + swing * np.sin(t / 2.0)
        out.append((c * 0.995, c * 1.02, c * 0.98, c))
    return out


_PANEL = make_panel({"A": _bars(0.01, 2.0), "B": _bars(-0.005, 4.0)})

# (id, direction, config with the rule, the same config without it)
SAME: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # (the engine itself refuses gtc on market entries; recorded: its unchecked path)
    ("gtc-market", "long", {"order_type": "market", "time_in_force": "gtc", "recorded": True},
     {"order_type": "market"}),
    ("borrow-fee-long", "long", {"costs.borrow_fee": 0.05}, {}),
    ("margin-long", "long", {"costs.margin": 2.0}, {}),
    ("size-150", "long", {"sizing.method": "fraction", "size": 1.5},
     {"sizing.method": "fraction", "size": 1.0}),
    ("size-150-long-short", "long_short", {"sizing.method": "fraction", "size": 1.5},
     {"sizing.method": "fraction", "size": 1.0}),
    ("size-250-levered", "long", {"sizing.method": "fraction", "size": 2.5,
     "risk.max_gross_leverage": 2.0}, {"sizing.method": "fraction", "size": 2.0,
     "risk.max_gross_leverage": 2.0}),
    ("weight-200", "long", {"risk.max_weight": 2.0}, {}),
    ("weight-150-short", "short", {"risk.max_weight": 1.5}, {}),
    ("weight-100", "long", {"risk.max_weight": 1.0}, {}),
    ("weight-100-long-short", "long_short", {"risk.max_weight": 1.0}, {}),
    ("weight-100-fraction", "long", {"risk.max_weight": 1.0, "sizing.method": "fraction",
     "size": 1.0}, {"sizing.method": "fraction", "size": 1.0}),
    ("weight-200-levered", "long_short", {"risk.max_weight": 2.0, "sizing.method": "fraction",
     "size": 2.0, "risk.max_gross_leverage": 2.0}, {"sizing.method": "fraction", "size": 2.0,
     "risk.max_gross_leverage": 2.0}),
]  # fmt: skip


def _outcome(res: BacktestResult) -> tuple[list[float], pd.DataFrame, pd.DataFrame]:
    return res.equity_values.tolist(), res.trades, res.orders


@pytest.mark.parametrize(
    ("direction", "rule", "without"), [s[1:] for s in SAME], ids=[s[0] for s in SAME]
)
def test_a_refused_rule_changed_nothing(
    direction: str, rule: dict[str, Any], without: dict[str, Any]
) -> None:
    out = _signals(direction, limits="order_type" in rule)
    costs = {"commission": "0.1%", "slippage": "5bps", "direction": direction}
    eq, trades, orders = _outcome(run(_PANEL, out, **costs, **rule))
    eq0, trades0, orders0 = _outcome(run(_PANEL, out, **costs, **without))
    assert len(trades0) >= 2  # something was traded
    assert eq == eq0
    pd.testing.assert_frame_equal(trades, trades0)
    pd.testing.assert_frame_equal(orders, orders0)


def test_leverage_makes_a_size_above_100_percent_act() -> None:
    """What the refusal's threshold rests on: with risk.max_gross_leverage 2, 150% is not
    100% (so it is accepted)."""
    lev = {"commission": "0.1%", "slippage": "5bps", "risk.max_gross_leverage": 2.0}
    big = run(_PANEL, _signals(), **lev, **{"sizing.method": "fraction", "size": 1.5})
    full = run(_PANEL, _signals(), **lev, **{"sizing.method": "fraction", "size": 1.0})
    assert big.equity_values.tolist() != full.equity_values.tolist()


@pytest.mark.parametrize(("_id", "keys", "key", "_shown"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_recorded_spec_reads_back_as_it_ran(
    _id: str, keys: dict[str, Any], key: str, _shown: str
) -> None:
    """A run recorded before a rule was refused still reads back for drift, reconcile, validate
    and a restart; a new config with the same keys is refused."""
    from pydantic import ValidationError

    from alphaforge.config.specs import recorded_spec

    data = {"strategy": "sma_cross", "symbols": ["SYN01"], **keys}
    with pytest.raises(ValidationError, match=key.split(".")[-1]):
        RunSpec.model_validate(data)
    stored = json.loads(recorded_spec(data).model_dump_json())
    again = recorded_spec(stored)
    assert again.model_dump() == recorded_spec(data).model_dump()


def test_a_weight_limit_below_buying_power_acts() -> None:
    """What the refusal of a limit at buying power rests on: 90% binds where 100% does not."""
    costs = {"commission": "0.1%", "slippage": "5bps"}
    capped = run(_PANEL, _signals(), **costs, **{"risk.max_weight": 0.9})
    free = run(_PANEL, _signals(), **costs)
    assert capped.equity_values.tolist() != free.equity_values.tolist()
