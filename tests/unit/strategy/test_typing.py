"""``Strategy`` is generic over its parameter model: user code type-checks without ignores.

mypy runs on the file ``alphaforge strategy new`` writes and on small user strategies. Only
``alphaforge.strategy`` and pydantic are analysed (numpy and pandas are left untyped), which
keeps the check to a few seconds while ``self.params`` is still typed from the real base class.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.strategy import Signals, Strategy, StrategyData, StrategyParams, param
from alphaforge.strategy.registry import builtin_strategies
from alphaforge.strategy.template import write_template

api = pytest.importorskip("mypy.api")

MYPY_INI = """\
[mypy]
strict = True
follow_imports = skip
incremental = False
plugins = pydantic.mypy
[mypy-alphaforge.strategy,alphaforge.strategy.base,pydantic,pydantic.*,pydantic_core,\
pydantic_core.*,annotated_types,typing_extensions,typing_inspection.*]
follow_imports = silent
"""

GOOD = """
from alphaforge.strategy import Signals, Strategy, StrategyData, StrategyParams, param
from alphaforge.strategy.base import crossed_above


class CrossParams(StrategyParams):
    fast: int = param(10, ge=2, le=200, description="fast SMA length")
    slow: int = param(50, ge=3, le=400, description="slow SMA length")


class Cross(Strategy[CrossParams]):
    name = "cross"

    def warmup(self) -> int:
        return self.params.slow

    def signals(self, data: StrategyData) -> Signals:
        fast, slow = data.sma(self.params.fast), data.sma(self.params.slow)
        return Signals(entries=crossed_above(fast, slow), exits=crossed_above(slow, fast))
"""

BAD = """
from alphaforge.strategy import Signals, Strategy, StrategyData, StrategyParams, param


class OneParams(StrategyParams):
    fast: int = param(10, ge=2, le=100, description="fast SMA length")


class One(Strategy[OneParams]):
    name = "one"

    def warmup(self) -> int:
        return self.params.slow + 1

    def signals(self, data: StrategyData) -> Signals:
        label: str = self.params.fast
        return Signals(entries=data.close > 0, exits=data.close < 0)
"""


def _mypy(tmp_path: Path, *files: Path) -> tuple[str, int]:
    ini = tmp_path / "mypy.ini"
    ini.write_text(MYPY_INI)
    out, err, status = api.run(["--config-file", str(ini), *map(str, files)])
    return out + err, status


def test_scaffold_and_user_strategy_type_check_and_a_wrong_attribute_is_reported(
    tmp_path: Path,
) -> None:
    scaffold, _ = write_template("my_trend", tmp_path)
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(GOOD)
    bad.write_text(BAD)

    report, status = _mypy(tmp_path, scaffold, good, bad)

    lines = [ln for ln in report.splitlines() if ": error:" in ln]
    assert status == 1
    assert not [ln for ln in lines if not ln.startswith(str(bad))], report
    assert any('"OneParams" has no attribute "slow"' in ln and ":13:" in ln for ln in lines), report
    assert any('has type "int", variable has type "str"' in ln and ":16:" in ln for ln in lines), (
        report
    )
    assert "# type: ignore" not in scaffold.read_text()


class _TypedParams(StrategyParams):
    n: int = param(3, ge=1, le=10)


class _Typed(Strategy[_TypedParams]):
    name = "typed"

    def signals(self, data: StrategyData) -> Signals:  # pragma: no cover - never run
        raise NotImplementedError


def test_the_model_in_brackets_is_the_params_class() -> None:
    assert _Typed.Params is _TypedParams
    s = _Typed({"n": 5})
    assert isinstance(s.params, _TypedParams) and s.params.n == 5
    assert [d["name"] for d in _Typed.describe()] == ["n"]


def test_a_params_class_other_than_the_one_in_brackets_is_refused() -> None:
    class Other(StrategyParams):
        m: int = 1

    with pytest.raises(TypeError, match="Other is not the _TypedParams"):

        class Wrong(Strategy[_TypedParams]):
            Params = Other


def test_an_unparametrised_strategy_with_a_nested_params_still_works() -> None:
    class Old(Strategy):  # no model named: self.params is Any to a type checker
        class Params(StrategyParams):
            k: int = 2

    assert Old().params.k == 2
    assert Old(k=4).params.k == 4


def test_every_builtin_names_its_params_model_in_its_base() -> None:
    for name, cls in builtin_strategies().items():
        base = next(b for b in cls.__orig_bases__ if hasattr(b, "__args__"))  # type: ignore[attr-defined]
        assert base.__args__ == (cls.Params,), name
