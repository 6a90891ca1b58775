"""A strategy file may import the modules beside it (as ``python file.py`` could), and a
parameter class that is not a StrategyParams model is refused naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

HELPER = """\
import numpy as np


def cross(a, b):
    out = np.zeros(a.shape, dtype=bool)
    out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out
"""

STRATEGY = """\
from alphaforge.strategy import Signals, Strategy, StrategyData, StrategyParams, param
from crosslib_{tag} import cross


class P(StrategyParams):
    fast: int = param(10, ge=2)
    slow: int = param(40, ge=3)


class Mine(Strategy[P]):
    name = "mine_{tag}"

    def warmup(self) -> int:
        return self.params.slow

    def signals(self, data: StrategyData) -> Signals:
        f, s = data.sma(self.params.fast), data.sma(self.params.slow)
        return Signals(entries=cross(f, s), exits=cross(s, f))
"""


def test_a_strategy_file_imports_the_module_beside_it(af_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "crosslib_a.py").write_text(HELPER)
    path = folder / "mine.py"
    path.write_text(STRATEGY.format(tag="a"))
    out = tmp_path / "r.json"
    res = invoke(af_home, "backtest", f"{path}:Mine", "-s", "SYN01", "-q", "--json", str(out))
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert result["num_trades"] > 0  # the crossings of the helper module traded


def test_a_params_class_that_is_no_model_is_refused(af_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "dc.py"
    path.write_text(
        "from dataclasses import dataclass\n"
        "from alphaforge.strategy import Signals, Strategy\n\n\n"
        "@dataclass(frozen=True)\nclass P:\n    fast: int = 10\n\n\n"
        "class Mine(Strategy):\n    Params = P\n"
    )
    res = invoke(af_home, "backtest", f"{path}:Mine", "-s", "SYN01", "-q")
    err = refused(res, str(path), "line 10", "Params must be a StrategyParams model")
    assert res.exit_code == 2, err
