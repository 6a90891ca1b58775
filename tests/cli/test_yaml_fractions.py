"""A fraction-valued key reads in YAML as on the command line: ``risk.daily_loss_limit: 3%``
is 0.03, as ``--daily-loss 3%`` is (YAML used to refuse it as "not a valid number"); a value out
of range is refused naming the key and the value as written, and so is an absurd ``cash``
(1e300 used to run, printing a 300-digit equity)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration


def _resolved(home: Path, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "r.json"
    res = invoke(home, "backtest", "-q", *args, "--json", str(out))
    assert res.exit_code == 0, res.output
    config: dict[str, Any] = json.loads(out.read_text())["config"]
    out.unlink()
    return config


@pytest.mark.parametrize("text", ["3%", "300bps", "0.03", '"3 %"'])
def test_a_yaml_percent_is_the_same_fraction_as_the_flag(
    af_home: Path, tmp_path: Path, text: str
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + f"risk: {{daily_loss_limit: {text}}}\n")
    from_yaml = _resolved(af_home, tmp_path, "-c", str(config))
    plain = tmp_path / "plain.yaml"
    plain.write_text(REPLAY_CONFIG)
    from_flag = _resolved(af_home, tmp_path, "-c", str(plain), "--daily-loss", "3%")
    assert from_yaml["risk"]["daily_loss_limit"] == 0.03
    assert from_yaml == from_flag


def test_every_fraction_valued_risk_key_reads_a_percent(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        REPLAY_CONFIG
        + "risk: {max_weight: 50%, min_cash: 5%, max_trade_loss: 2%, daily_loss_limit: 3%,\n"
        "       weekly_loss_limit: 6%, max_drawdown: 25%}\n"
        "sizing: {method: fraction, value: 10%}\n"
    )
    resolved = _resolved(af_home, tmp_path, "-c", str(config))
    risk = resolved["risk"]
    assert (risk["max_weight"], risk["min_cash"], risk["max_trade_loss"]) == (0.5, 0.05, 0.02)
    assert (risk["daily_loss_limit"], risk["weekly_loss_limit"]) == (0.03, 0.06)
    assert risk["max_drawdown"] == 0.25
    assert resolved["sizing"]["value"] == 0.1


def test_account_limits_read_a_percent(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "acct.yaml"
    config.write_text(
        "symbols: [SYN01]\nstrategies: [{strategy: sma_cross, allocation: 0.5}]\n"
        "account: {daily_loss_limit: 3%, max_drawdown: 20%}\n"
    )
    from alphaforge.config.specs import load_run_spec

    spec = load_run_spec(config)
    assert spec.account is not None
    assert (spec.account.daily_loss_limit, spec.account.max_drawdown) == (0.03, 0.2)
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text().replace("20%", "120%"))
    res = invoke(af_home, "paper", "--replay", "--from", "2014-03-03", "--to", "2014-06-30",
                 "-q", "--config", str(bad))  # fmt: skip
    refused(res, str(bad), "account.max_drawdown", "120%")


@pytest.mark.parametrize(
    ("risk", "names"),
    [
        ("daily_loss_limit: 300%", ("risk.daily_loss_limit", "300%")),
        ("max_drawdown: -5%", ("risk.max_drawdown", "-5%")),
        ("weekly_loss_limit: lots", ("risk.weekly_loss_limit", "lots", "3%")),
        ("min_cash: 100%", ("risk.min_cash", "less than 1", "1.0")),
    ],
    ids=["above-100pct", "negative", "text", "min-cash-all"],
)
def test_a_fraction_out_of_range_is_refused_by_name(
    af_home: Path, tmp_path: Path, risk: str, names: tuple[str, ...]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + f"risk: {{{risk}}}\n")
    before = tree_hash(af_home)
    refused(invoke(af_home, "backtest", "-q", "-c", str(config)), str(config), *names)
    assert tree_hash(af_home) == before


@pytest.mark.parametrize("cash", ["1e300", "2.0e15"])
def test_an_absurd_cash_is_refused_by_name(af_home: Path, tmp_path: Path, cash: str) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG.replace("cash: 100000", f"cash: {cash}"))
    refused(invoke(af_home, "backtest", "-q", "-c", str(config)), str(config), "cash", cash)
    refused(invoke(af_home, "backtest", "sma_cross", "-s", "SYN01", "-q", "--cash", cash), "cash")
