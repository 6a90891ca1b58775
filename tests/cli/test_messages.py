"""Error lines read as plain sentences: no pydantic "Value error, " prefix, a check across
parameters names ``params`` (not "parameter params"), a config's model-level check names no
"(root)", and keys are written one way (``strategies[0].allocation``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused

pytestmark = pytest.mark.integration


def test_a_check_across_parameters_on_the_command_line(af_home: Path) -> None:
    res = invoke(af_home, "backtest", "sma_cross", "-s", "SYN01", "-q", "--param", "fast=100")
    err = refused(res)
    # slow keeps sma_cross's default, 50
    assert err == "error: sma_cross: params: fast (100) must be smaller than slow (50)"


def test_a_check_across_parameters_in_a_config(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG.replace("fast: 5", "fast: 100"))
    err = refused(invoke(af_home, "backtest", "-q", "-c", str(config)))
    assert err == f"error: {config}: sma_cross: params: fast (100) must be smaller than slow (20)"


def test_a_single_parameter_still_names_itself_and_its_value(af_home: Path) -> None:
    res = invoke(af_home, "backtest", "sma_cross", "-s", "SYN01", "-q", "--param", "fast=-1")
    err = refused(res, "sma_cross: parameter fast:", "(got -1)")
    assert "Value error" not in err


TWO = """\
symbols: [SYN01]
strategies:
  - {{strategy: sma_cross, allocation: 0.5, id: trend}}
  - {{strategy: ema_cross, allocation: {alloc}, id: {id}}}
"""
REPLAY = ("paper", "--replay", "--from", "2014-03-03", "--to", "2014-06-30", "-q", "--config")


def test_a_check_of_the_whole_config_names_no_root(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "a9.yaml"
    config.write_text(TWO.format(alloc=0.3, id="trend"))
    err = refused(invoke(af_home, *REPLAY, str(config)))
    assert (
        err
        == f"error: {config}: strategies: id 'trend' is used twice; give each strategy its own id: (e.g. id: fast_ma)"
    )


def test_a_list_item_key_is_written_with_its_index(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "a9.yaml"
    config.write_text(TWO.format(alloc=1.5, id="fast"))
    err = refused(invoke(af_home, *REPLAY, str(config)))
    # the second strategy (index 1): allocation is a fraction of cash, at most 1
    assert err.startswith(f"error: {config}: strategies[1].allocation: ")
    assert err.endswith("(got 1.5)")
