"""Sweep and walk-forward inputs: a grid value the parameter cannot take is refused naming it
(it used to be counted among the invalid sets, and ``fast=5,abc`` ran the 5 alone); a
walk-forward whose train windows the warm-up fills says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("command", ["sweep", "walkforward"])
def test_a_typed_grid_value_is_refused(af_home: Path, command: str) -> None:
    res = invoke(af_home, command, "sma_cross", "-s", "SYN01", "-g", "fast=5,abc", "-g",
                 "slow=50")  # fmt: skip
    assert res.exit_code == 2
    assert refused(res) == (
        "error: --grid 'fast=5,abc': fast='abc': Input should be a valid integer, unable to "
        "parse string as an integer"
    )
    assert "trials" not in res.stdout  # refused before the progress bar shows


def test_train_windows_the_warm_up_fills_are_named(af_home: Path) -> None:
    res = invoke(af_home, "walkforward", "sma_cross", "-s", "SYN01", "-g", "slow=50,100", "-g",
                 "fast=10", "--train-len", "60", "--test-len", "40")  # fmt: skip
    assert refused(res).endswith(
        "no trial of a train window produced a valid objective: the train windows have 60 bars "
        "and the strategy's warm-up takes 50 to 100 of them (the parameters' longest lookback), "
        "which leaves too few to trade; give a longer --train-len"
    )
