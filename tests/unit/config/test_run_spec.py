"""YAML run specs: loading, overrides and one-line errors that name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.config.specs import load_run_spec
from alphaforge.core.costs import Commission, Slippage
from alphaforge.core.errors import ConfigError


def test_yaml_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "run.yaml"
    p.write_text(
        "strategy: sma_cross\nparams: {fast: 5, slow: 20}\nsymbols: [A, B]\n"
        "start: 2020-01-01\ncosts: {commission: 0.2%}\n"
    )
    spec = load_run_spec(p, {"costs": {"slippage": "0"}, "params": {"fast": 7}})
    assert spec.strategy == "sma_cross"
    assert spec.params == {"fast": 7, "slow": 20}
    assert spec.start == "2020-01-01"
    assert spec.costs.commission == Commission(pct=0.002)
    assert spec.costs.slippage == Slippage()
    cfg = spec.backtest_config()
    assert cfg.costs.commission == Commission(pct=0.002)
    assert cfg.model_dump(mode="json")["costs"]["commission"] == "0.2%"
    assert (
        spec.canonical_hash()
        == load_run_spec(p, {"costs": {"slippage": "0"}, "params": {"fast": 7}}).canonical_hash()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("strategy: x\nexits: {stop_los: 5%}\n", r"run.yaml: exits.stop_los: unknown key"),
        ("cash: lots\n", r"run.yaml: cash: .*\(got 'lots'\)"),
        ("costs: {commission: 1/lot}\n", r"run.yaml: costs.commission: .*cannot read"),
        ("exits: {stop_loss: 1.5}\n", r"run.yaml: exits.stop_loss: .*\"1.5\".*\(got 1.5\)$"),
        ("seed: 7\n", r"run.yaml: seed: unknown key \(got 7\)"),
        ("- just\n- a list\n", r"expected a mapping"),
        ("a: [1, 2\n", r"run.yaml: line \d+ invalid YAML|run.yaml:.* invalid YAML"),
    ],
)
def test_bad_yaml_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "run.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_run_spec(p)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_run_spec(tmp_path / "nope.yaml")
