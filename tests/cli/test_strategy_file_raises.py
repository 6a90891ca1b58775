"""A strategy file whose own code raises while it is imported (a ``SyntaxError``, a failed
import, any exception at its top level) is refused with one line naming the file, the line and
the exception, exit code 2, nothing written. It exited 1 ("error while importing", no line)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from alphaforge.core.userfile import ErrorOnImport, ExitOnImport, module_from_file
from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

RAISES = {
    "zero-division": ("import math\n\nx = 1 / 0\n", "line 3", "ZeroDivisionError: division by zero"),
    "syntax": ("x = 1\ndef f(:\n    pass\n", "line 2", "SyntaxError: invalid syntax"),
    "missing-module": ("import not_a_module_af_test\n", "line 1",
                       "ModuleNotFoundError: No module named 'not_a_module_af_test'"),
    "in-a-function": ("def boom():\n    raise ValueError('no\\nway')\n\n\nboom()\n", "line 2",
                      "ValueError: no way"),
    "no-message": ("raise RuntimeError\n", "line 1", "RuntimeError"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "line", "what"), list(RAISES.values()), ids=list(RAISES))
def test_strategy_file_that_raises_is_refused(
    af_home: Path, tmp_path: Path, text: str, line: str, what: str
) -> None:
    strategy = tmp_path / "s_raises.py"
    strategy.write_text(text)
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", f"{strategy}:X", "-s", "SYN01", "-q")
    err = refused(res, f"{strategy}: {line}: {what}", "while the file is imported")
    assert "unexpected" not in err
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    "args",
    [("strategy", "show", "FILE"), ("sweep", "FILE", "-s", "SYN01", "-q", "--grid", "n=1,2")],
    ids=["strategy-show", "sweep"],
)
def test_every_command_refuses_it_alike(
    af_home: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    strategy = tmp_path / "s_raises.py"
    strategy.write_text("x = 1 / 0\n")
    before = tree_hash(af_home)
    res = invoke(af_home, *(f"{strategy}:X" if a == "FILE" else a for a in args))
    refused(res, f"{strategy}: line 1: ZeroDivisionError")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_strategy_file_that_raises_named_in_a_config(af_home: Path, tmp_path: Path) -> None:
    strategy = tmp_path / "s_raises.py"
    strategy.write_text("x = 1 / 0\n")
    config = tmp_path / "run.yaml"
    config.write_text(f"strategy: {strategy}:X\nsymbols: [SYN01]\n")
    res = invoke(af_home, "backtest", "-q", "-c", str(config))
    refused(res, str(config), f"{strategy}: line 1: ZeroDivisionError")
    assert res.exit_code == 2


def test_module_that_raises_is_not_left_imported(tmp_path: Path) -> None:
    path = tmp_path / "s_raises.py"
    path.write_text("x = 1\nraise KeyError('k')\n")
    name = "alphaforge_test_raises_on_import"
    with pytest.raises(ErrorOnImport, match=r"s_raises\.py: line 2: KeyError: 'k'") as info:
        module_from_file(path, name)
    assert isinstance(info.value, ExitOnImport)  # what callers refuse as bad input
    assert isinstance(info.value.__cause__, KeyError)  # the user's traceback is kept
    assert name not in sys.modules


@pytest.mark.parametrize("config", [False, True], ids=["argument", "config"])
def test_debug_shows_the_strategy_file_s_own_traceback(
    af_home: Path, tmp_path: Path, config: bool
) -> None:
    """``--debug`` re-raises the refusal chained to the file's own exception, so the traceback
    runs through the line of the file that raised (it stopped at alphaforge's loader)."""
    import traceback

    strategy = tmp_path / "s_raises.py"
    strategy.write_text("import math\n\n\ndef f():\n    return 1 / 0\n\n\nf()\n")
    args = ["backtest", f"{strategy}:X", "-s", "SYN01", "-q"]
    if config:
        run = tmp_path / "run.yaml"
        run.write_text(f"strategy: {strategy}:X\nsymbols: [SYN01]\n")
        args = ["backtest", "-q", "-c", str(run)]
    res = invoke(af_home, "--debug", *args)
    assert res.exit_code != 0
    cause = res.exception.__cause__
    assert isinstance(cause, ZeroDivisionError)
    frames = traceback.extract_tb(cause.__traceback__)
    assert [(f.filename, f.lineno) for f in frames[-2:]] == [(str(strategy), 8), (str(strategy), 5)]
