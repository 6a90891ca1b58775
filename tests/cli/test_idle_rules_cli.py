"""A rule no strategy can make act (it used to run and change nothing) is refused by backtest
and paper alike, exit 2, in one line naming the config file, the key and the value, before the
home is touched: ``--size 150%`` and ``--max-weight 200%`` without leverage, a borrow fee or a
short margin on a long-only run, ``time_in_force: gtc`` with ``order_type: market``. So is an
entry or exit rule the strategy's orders give nothing to act on, known once the strategy has
run: ``time_in_force: gtc`` for a strategy of market entries, the entry-bar or ambiguity rule
without a stop or a target (set in the config or returned by the strategy). A sweep or a
walk-forward refuses such a rule too: every trial's run is refused, and the search names the
first refusal (the batched kernel, which takes no price levels, refuses it before any result)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests import limit_some
from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration

SEARCH = ("-g", "fast=5,10", "-g", "slow=20,30", "--min-trades", "0")
PAPER = ("paper", "--replay", "--from", "2014-03-03", "--to", "2014-06-30", "-q", "--config")
# (id, YAML added, backtest flags instead, words the error names besides the file)
IDLE = [
    ("size", "sizing: {method: fraction, value: 150%}\n", ("--size", "150%"),
     ("sizing.value", "150%", "risk.max_gross_leverage")),
    ("max-weight", "risk: {max_weight: 2}\n", ("--max-weight", "200%"),
     ("risk.max_weight", "200%")),
    ("borrow-fee", "costs: {borrow_fee: 2%}\n", (), ("costs.borrow_fee", "2%", "direction: long")),
    ("margin", "costs: {margin: 1.5}\n", (), ("costs.margin", "1.5", "direction: long")),
    ("gtc-market", "order_type: market\ntime_in_force: gtc\n", (),
     ("time_in_force", "'gtc'", "order_type: market")),
]  # fmt: skip

# (id, YAML added, words the error names besides the file): known once the strategy has run
# (its orders carry no limit or stop price, no stop, no target)
IDLE_ORDERS = [
    ("gtc-auto", "time_in_force: gtc\n", ("time_in_force", "'gtc'", "no limit or stop price")),
    ("entry-bar", "exits: {stop_on_entry_bar: false}\n",
     ("exits.stop_on_entry_bar", "False", "none is set")),
    ("ambiguity-no-target", "exits: {stop_loss: 5%, ambiguity: target_first}\n",
     ("exits.ambiguity", "'target_first'", "has no target")),
    ("ambiguity-no-stop", "exits: {take_profit: 5%, ambiguity: target_first}\n",
     ("exits.ambiguity", "has no stop")),
]  # fmt: skip
IN_CONFIG = [(i[0], i[1], i[3]) for i in IDLE] + IDLE_ORDERS


@pytest.mark.parametrize("command", ["backtest", "paper"])
@pytest.mark.parametrize(
    ("added", "names"), [i[1:] for i in IN_CONFIG], ids=[i[0] for i in IN_CONFIG]
)
def test_an_idle_rule_in_the_config_is_refused(
    af_home: Path, tmp_path: Path, command: str, added: str, names: tuple[str, ...]
) -> None:
    config = tmp_path / "idle.yaml"
    config.write_text(REPLAY_CONFIG + added)
    args = ("backtest", "-q", "-c") if command == "backtest" else PAPER
    before = tree_hash(af_home)
    res = invoke(af_home, *args, str(config))
    refused(res, f"{config}: ", *names)
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    ("flags", "names"), [(i[2], i[3]) for i in IDLE if i[2]], ids=[i[0] for i in IDLE if i[2]]
)
def test_an_idle_flag_is_refused_naming_the_key(
    af_home: Path, tmp_path: Path, flags: tuple[str, ...], names: tuple[str, ...]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG)
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", "-q", "-c", str(config), *flags)
    refused(res, f"{config}: ", *names)
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_with_leverage_a_size_above_100_percent_runs(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "levered.yaml"
    config.write_text(REPLAY_CONFIG + "risk: {max_gross_leverage: 2}\n")
    res = invoke(af_home, "backtest", "-q", "-c", str(config), "--size", "150%")
    assert res.exit_code == 0, res.output


def test_the_strategy_s_own_stop_lets_the_ambiguity_rule_run(af_home: Path, tmp_path: Path) -> None:
    """donchian_breakout returns its own stop (Signals.stop_loss): with a target from the
    config the ambiguity rule has both levels to decide between, and runs."""
    config = tmp_path / "own_stop.yaml"
    config.write_text(
        "strategy: donchian_breakout\nsymbols: [SYN01]\ntimeframe: 1d\n"
        "exits: {take_profit: 3%, ambiguity: target_first}\n"
    )
    out = tmp_path / "r.json"
    res = invoke(af_home, "backtest", "-q", "-c", str(config), "--json", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["config"]["exits"]["ambiguity"] == "target_first"


@pytest.mark.parametrize(
    "args",
    [("sweep", *SEARCH), ("sweep", "--fast", *SEARCH),
     ("walkforward", *SEARCH, "--train-len", "126", "--test-len", "63")],
    ids=["sweep", "sweep-fast", "walkforward"],
)  # fmt: skip
@pytest.mark.parametrize(
    ("added", "names"), [i[1:] for i in IDLE_ORDERS], ids=[i[0] for i in IDLE_ORDERS]
)
def test_a_search_refuses_a_rule_no_trial_acts_on(
    af_home: Path, tmp_path: Path, args: tuple[str, ...], added: str, names: tuple[str, ...]
) -> None:
    config = tmp_path / "idle.yaml"
    config.write_text(REPLAY_CONFIG.replace("params: {fast: 5, slow: 20}\n", "") + added)
    before = tree_hash(af_home)
    res = invoke(af_home, args[0], "-c", str(config), *args[1:])
    refused(res, f"{config}: ", *names)
    assert res.exit_code == 2
    assert "failed (first: " in res.output or "--fast" in args
    assert tree_hash(af_home) == before


def test_a_search_runs_a_rule_its_trials_act_on(af_home: Path, tmp_path: Path) -> None:
    """The same ambiguity rule with a stop and a target set: the sweep runs, batched."""
    config = tmp_path / "both.yaml"
    config.write_text(
        REPLAY_CONFIG.replace("params: {fast: 5, slow: 20}\n", "")
        + "exits: {stop_loss: 5%, take_profit: 5%, ambiguity: target_first}\n"
    )
    res = invoke(af_home, "sweep", "-c", str(config), "--fast", *SEARCH)
    assert res.exit_code == 0, res.output


def test_a_search_runs_the_trials_a_rule_acts_on_and_names_the_others(
    af_home: Path, tmp_path: Path
) -> None:
    """time_in_force acts on the trials whose strategy gives limit prices: the sweep picks among
    them, and says how many trials were refused and why (the results file keeps each error)."""
    config = tmp_path / "gtc.yaml"
    config.write_text(f"strategy: {limit_some.__file__}:LimitSome\nsymbols: [SYN01]\ntimeframe: 1d\n"
                      "time_in_force: gtc\n")  # fmt: skip
    res = invoke(af_home, "sweep", "-c", str(config), "-g", "fast=5,10", "-g", "slow=50",
                 "-g", "limit=true,false", "--min-trades", "0")  # fmt: skip
    assert res.exit_code == 0, res.output
    line = " ".join(res.output.split())
    assert "warning: 2 failed (first: time_in_force: keeps limit / stop entries working" in line
    assert "the results file keeps each one's error" in line
    (results,) = af_home.glob("sweeps/*/results.parquet")
    table = pd.read_parquet(results)
    assert sorted(table.loc[table["error"] != "", "limit"]) == [False, False]
    assert table.loc[table["error"] == "", "objective"].notna().all()
