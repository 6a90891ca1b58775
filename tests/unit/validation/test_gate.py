"""The go/no-go gate: defaults, each criterion at its boundary, N/A handling, YAML and errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.validation.gate import (
    GateFacts,
    GateSpec,
    evaluate_gate,
    load_gate,
    save_gate,
)

GOOD = {
    "sharpe": 1.5,
    "max_drawdown": -0.12,
    "trades": 120,
    "profit_factor": 1.8,
    "dsr": 0.97,
    "pbo": 0.2,
    "sharpe_2x_costs": 0.6,
    "wf_oos_return": 0.08,
}
ONLY = {  # each criterion's key and fact alone
    "min_sharpe": "sharpe",
    "max_drawdown": "max_drawdown",
    "min_trades": "trades",
    "min_profit_factor": "profit_factor",
    "min_dsr": "dsr",
    "max_pbo": "pbo",
    "min_sharpe_2x_costs": "sharpe_2x_costs",
    "min_wf_oos_return": "wf_oos_return",
}


def _only(key: str, threshold: float) -> GateSpec:
    return GateSpec.build({k: (threshold if k == key else None) for k in ONLY})


def test_defaults_follow_common_practice() -> None:
    spec = GateSpec()
    assert spec.model_dump() == {
        "min_sharpe": 1.0,
        "max_drawdown": 0.2,
        "min_trades": 50,
        "min_profit_factor": 1.3,
        "min_dsr": 0.95,
        "max_pbo": 0.5,
        "min_sharpe_2x_costs": 0.0,
        "min_wf_oos_return": 0.0,
        "require_all": False,
    }
    result = evaluate_gate(GOOD)
    assert result.passed and result.verdict == "GO: 8 of 8 passed"
    assert [r.rule for r in result.rows] == [
        "sharpe > 1",
        "|max_drawdown| < 0.2",
        "trades >= 50",
        "profit_factor > 1.3",
        "dsr > 0.95",
        "pbo < 0.5",
        "sharpe_2x_costs > 0",
        "wf_oos_return > 0",
    ]


@pytest.mark.parametrize(
    ("key", "threshold", "below", "at", "above", "at_passes", "higher_is_better"),
    [
        ("min_sharpe", 1.0, 0.99, 1.0, 1.01, False, True),
        ("min_trades", 50, 49, 50, 51, True, True),
        ("min_profit_factor", 1.3, 1.29, 1.3, 1.31, False, True),
        ("min_dsr", 0.95, 0.94, 0.95, 0.96, False, True),
        ("max_pbo", 0.5, 0.49, 0.5, 0.51, False, False),
        ("min_sharpe_2x_costs", 0.0, -0.01, 0.0, 0.01, False, True),
        ("min_wf_oos_return", 0.0, -0.01, 0.0, 0.01, False, True),
    ],
)
def test_each_criterion_at_its_boundary(
    key: str,
    threshold: float,
    below: float,
    at: float,
    above: float,
    at_passes: bool,
    higher_is_better: bool,
) -> None:
    spec = _only(key, threshold)
    fact = ONLY[key]

    def passes(v: float) -> bool:
        result = evaluate_gate({fact: v}, spec)
        assert [r.criterion for r in result.rows] == [fact]
        return result.passed

    assert passes(above) is higher_is_better
    assert passes(below) is not higher_is_better
    assert passes(at) is at_passes


def test_drawdown_compares_the_depth_of_a_negative_fraction() -> None:
    spec = _only("max_drawdown", 0.2)
    status = {v: evaluate_gate({"max_drawdown": v}, spec).rows[0].status for v in (-0.19, -0.2)}
    assert status == {-0.19: "PASS", -0.2: "FAIL"}  # strictly shallower than 20 %
    assert evaluate_gate({"max_drawdown": -0.25}, spec).rows[0].status == "FAIL"
    assert evaluate_gate({"max_drawdown": 0.15}, spec).rows[0].status == "PASS"  # a depth
    assert evaluate_gate({"max_drawdown": 0.0}, spec).passed


def test_infinite_profit_factor_passes() -> None:
    result = evaluate_gate({"profit_factor": math.inf}, _only("min_profit_factor", 1.3))
    assert result.passed
    assert result.to_dict()["rows"][0]["value"] is None  # JSON has no inf


def test_disabled_criteria_are_left_out() -> None:
    spec = GateSpec.build({"max_pbo": None, "min_dsr": None})
    result = evaluate_gate({**GOOD, "pbo": 0.9, "dsr": 0.1}, spec)
    assert result.passed
    assert "pbo" not in [r.criterion for r in result.rows]
    assert len(result.rows) == 6


def test_missing_facts_are_na_with_a_reason_and_never_a_pass() -> None:
    facts = {k: v for k, v in GOOD.items() if k not in ("pbo", "dsr")} | {"sharpe": math.nan}
    result = evaluate_gate(facts)
    rows = {r.criterion: r for r in result.rows}
    assert rows["pbo"].status == "N/A" and "sweep" in rows["pbo"].reason
    assert rows["dsr"].status == "N/A" and rows["dsr"].value is None
    assert rows["sharpe"].status == "N/A" and "NaN" in rows["sharpe"].reason
    assert result.not_available == ("sharpe", "dsr", "pbo")
    assert result.passed  # nothing failed, and require_all is off ...
    assert result.verdict == "GO: 5 of 8 passed; N/A sharpe, dsr, pbo (not checked)"
    strict = evaluate_gate(facts, GateSpec(require_all=True))
    assert not strict.passed  # ... with it, N/A fails the gate
    assert strict.verdict.startswith("NO-GO") and "counts as a fail" in strict.verdict


def test_a_fail_fails_the_gate_and_is_named() -> None:
    result = evaluate_gate({**GOOD, "sharpe": 0.4, "pbo": 0.7})
    assert not result.passed
    assert result.failed == ("sharpe", "pbo")
    assert result.verdict == "NO-GO: 6 of 8 passed; failed sharpe, pbo"


def test_result_as_dict_and_frame() -> None:
    result = evaluate_gate(GateFacts(sharpe=2.0, trades=10))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["passed"] is False and data["failed"] == ["trades"]
    assert data["rows"][0] == {
        "criterion": "sharpe",
        "rule": "sharpe > 1",
        "value": 2.0,
        "status": "PASS",
        "reason": "",
    }
    frame = result.to_frame()
    assert list(frame.columns) == ["criterion", "rule", "value", "status", "reason"]
    assert frame["status"].tolist() == ["PASS", "N/A", "FAIL", "N/A", "N/A", "N/A", "N/A", "N/A"]


def test_unknown_fact_is_refused() -> None:
    with pytest.raises(ConfigError, match="sharp: unknown fact"):
        evaluate_gate({"sharp": 1.0})
    with pytest.raises(ConfigError, match=r"pbo: expected a number \(got 'low'\)"):
        evaluate_gate({"pbo": "low"})


def test_yaml_round_trip(tmp_path: Path) -> None:
    spec = GateSpec.build(
        {"min_sharpe": 0.8, "max_pbo": None, "min_trades": 30, "require_all": True}
    )
    path = save_gate(spec, tmp_path / "gate.yaml")
    assert load_gate(path) == spec
    (tmp_path / "nested.yaml").write_text("gate:\n  min_sharpe: 2\n")
    assert load_gate(tmp_path / "nested.yaml") == GateSpec(min_sharpe=2.0)
    assert load_gate(save_gate(GateSpec(), tmp_path / "defaults.yaml")) == GateSpec()


@pytest.mark.parametrize("text", ["", "# no keys\n", "{}\n"])
def test_gate_file_without_keys_is_refused(tmp_path: Path, text: str) -> None:
    """An empty gate file is a wrong or truncated file, not the default gate (which is had by
    giving no gate file)."""
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"empty\.yaml: the gate file is empty"):
        load_gate(path)


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_gate(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:")
    return message


def test_unknown_key_is_refused_naming_it(tmp_path: Path) -> None:
    assert "min_sharp: unknown key" in _error(tmp_path, "min_sharp: 1.2\n")


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ("max_pbo: 1.5\n", "max_pbo", "1.5"),
        ("min_dsr: -0.1\n", "min_dsr", "-0.1"),
        ("max_drawdown: 0\n", "max_drawdown", "0"),
        ("min_trades: -3\n", "min_trades", "-3"),
        ("min_sharpe: high\n", "min_sharpe", "'high'"),
        ("min_wf_oos_return: -1\n", "min_wf_oos_return", "-1"),
        ("min_sharpe: .nan\n", "min_sharpe", "nan"),
        ("min_trades: true\n", "min_trades", "True"),
        ("require_all: 1\n", "require_all", "1"),
    ],
)
def test_bad_value_is_refused_naming_key_and_value(
    tmp_path: Path, text: str, key: str, shown: str
) -> None:
    message = _error(tmp_path, text)
    assert f": {key}: " in message and f"(got {shown})" in message


def test_bad_files(tmp_path: Path) -> None:
    assert "invalid YAML" in _error(tmp_path, "min_sharpe: [1\n")
    assert "expected a mapping" in _error(tmp_path, "- 1\n")
    with pytest.raises(ConfigError, match="no such gate file"):
        load_gate(tmp_path / "missing.yaml")
