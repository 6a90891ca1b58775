"""YAML configs: a key given twice is refused naming the file, the line and the key (the later
value used to win silently: ``cash: 100000`` then ``cash: 5`` ran with 5), and a date that is
not one (``2019-13-01``) is refused naming the file, the key and the value (it used to read
"unexpected error: ValueError: month must be in 1..12"); valid dates still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml.spec import load_ml_spec
from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration

ML_CONFIG = """\
name: twice
symbols: [SYN01, SYN02]
start: 2014-01-02
end: 2014-12-31
features:
  - returns: {windows: [1, 5]}
label: {kind: fixed, horizon: 5}
"""
PAPER = ("paper", "--replay", "--from", "2014-03-03", "--to", "2014-06-30", "-q", "--config")


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line number of the ``nth`` line of ``text`` that starts with ``needle``."""
    hits = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.lstrip().startswith(needle)]
    return hits[nth - 1]


@pytest.mark.parametrize("command", ["backtest", "paper"])
def test_a_top_level_key_given_twice_is_refused(
    af_home: Path, tmp_path: Path, command: str
) -> None:
    text = REPLAY_CONFIG + "cash: 5\n"
    config = tmp_path / "run.yaml"
    config.write_text(text)
    args = ("backtest", "-q", "-c") if command == "backtest" else PAPER
    before = tree_hash(af_home)
    err = refused(invoke(af_home, *args, str(config)))
    assert err == f"error: {config}: line {_line_of(text, 'cash:', 2)}: key 'cash' given twice"
    assert tree_hash(af_home) == before


def test_a_nested_key_given_twice_is_refused(af_home: Path, tmp_path: Path) -> None:
    text = REPLAY_CONFIG + "costs:\n  commission: 0.1%\n  slippage: 5bps\n  commission: 1%\n"
    config = tmp_path / "run.yaml"
    config.write_text(text)
    refused(invoke(af_home, "backtest", "-q", "-c", str(config)),
            f"{config}: line {len(text.splitlines())}: key 'commission' given twice")  # fmt: skip


def test_a_flow_mapping_key_given_twice_is_refused(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG.replace("{fast: 5, slow: 20}", "{fast: 5, fast: 7}"))
    refused(invoke(af_home, "backtest", "-q", "-c", str(config)),
            f"{config}: line 2: key 'fast' given twice")  # fmt: skip


def test_an_ml_spec_start_given_twice_is_refused(tmp_path: Path) -> None:
    text = ML_CONFIG + "start: 2015-01-02\n"
    config = tmp_path / "ml.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_ml_spec(config)
    assert (
        str(info.value) == f"{config}: line {_line_of(text, 'start:', 2)}: key 'start' given twice"
    )
    res = invoke(tmp_path / "home", "ml", "train", "--config", str(config))
    assert res.exit_code != 0 and "key 'start' given twice" in res.output
    assert "Traceback" not in res.output


def test_yaml_anchors_and_merge_keys_still_read(af_home: Path, tmp_path: Path) -> None:
    """``<<: *base`` followed by a key of the base is an override YAML allows, not a twice."""
    config = tmp_path / "run.yaml"
    config.write_text(
        REPLAY_CONFIG.replace(
            "params: {fast: 5, slow: 20}", "params:\n  <<: &p {fast: 5, slow: 20}\n  slow: 30"
        )
    )
    res = invoke(af_home, "backtest", "-q", "-c", str(config), "--json", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "r.json").read_text())["params"] == {"fast": 5, "slow": 30}


@pytest.mark.parametrize("key", ["start", "end"])
@pytest.mark.parametrize("command", ["backtest", "paper"])
def test_an_impossible_date_names_the_file_key_and_value(
    af_home: Path, tmp_path: Path, command: str, key: str
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + f"{key}: 2019-13-01\n")
    args = ("backtest", "-q", "-c") if command == "backtest" else PAPER
    err = refused(invoke(af_home, *args, str(config)), str(config), f"{key}:", "2019-13-01")
    assert "unexpected" not in err and "ValueError" not in err


def test_an_impossible_ml_date_names_the_file_key_and_value(tmp_path: Path) -> None:
    config = tmp_path / "ml.yaml"
    config.write_text(ML_CONFIG.replace("start: 2014-01-02", "start: 2019-02-30"))
    res = invoke(tmp_path / "home", "ml", "train", "--config", str(config))
    err = refused(res, str(config), "start:", "2019-02-30")
    assert "unexpected" not in err


def test_valid_yaml_dates_still_bound_a_backtest(af_home: Path, tmp_path: Path) -> None:
    """2014-03-03 and 2014-06-30 are both Mondays and NYSE sessions: the first and last bar."""
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + "start: 2014-03-03\nend: 2014-06-30\n")
    res = invoke(af_home, "backtest", "-q", "-c", str(config), "--json", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    index = json.loads((tmp_path / "r.json").read_text())["series"]["index"]
    assert (index[0][:10], index[-1][:10]) == ("2014-03-03", "2014-06-30")


def test_valid_yaml_dates_and_times_still_read_in_ml_and_run_specs(tmp_path: Path) -> None:
    from alphaforge.config.specs import load_run_spec

    ml = tmp_path / "ml.yaml"
    ml.write_text(ML_CONFIG)
    spec = load_ml_spec(ml)
    assert (spec.start, spec.end) == ("2014-01-02", "2014-12-31")
    run = tmp_path / "run.yaml"
    run.write_text(REPLAY_CONFIG + "start: 2014-01-02 09:30:00\nend: 2014-12-31T16:00:00Z\n")
    rs = load_run_spec(run)
    assert (rs.start, rs.end) == ("2014-01-02 09:30:00", "2014-12-31T16:00:00Z")
