"""A strategy file that exits while it is imported (``sys.exit``, ``raise SystemExit``) is refused
naming the file and the line, exit code 2, nothing written: the command used to end silently
with the file's exit code (0 for ``raise SystemExit(0)``, no result)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from alphaforge.core.userfile import ExitOnImport, module_from_file
from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

EXITS = {
    "raise-0": ("raise SystemExit(0)\n", "SystemExit(0)", "line 1"),
    "sys-exit-3": ("import sys\n\nsys.exit(3)\n", "SystemExit(3)", "line 3"),
    "sys-exit-text": ("import sys\nsys.exit('bye')\n", "SystemExit('bye')", "line 2"),
    "bare": ("import sys\nsys.exit()\n", "SystemExit(None)", "line 2"),
}


@pytest.mark.parametrize(("text", "what", "line"), list(EXITS.values()), ids=list(EXITS))
def test_strategy_file_that_exits_is_refused(
    af_home: Path, tmp_path: Path, text: str, what: str, line: str
) -> None:
    strategy = tmp_path / "s_exit.py"
    strategy.write_text(text)
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", f"{strategy}:X", "-s", "SYN01", "-q")
    refused(res, str(strategy), "exits while it is imported", what, line)
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_strategy_file_that_exits_named_in_a_config(af_home: Path, tmp_path: Path) -> None:
    strategy = tmp_path / "s_exit.py"
    strategy.write_text("raise SystemExit(0)\n")
    config = tmp_path / "run.yaml"
    config.write_text(f"strategy: {strategy}:X\nsymbols: [SYN01]\n")
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", "-q", "-c", str(config))
    refused(res, str(config), str(strategy), "exits while it is imported")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_interrupt_at_import_stays_an_interrupt(af_home: Path, tmp_path: Path) -> None:
    strategy = tmp_path / "s_interrupt.py"
    strategy.write_text("raise KeyboardInterrupt\n")
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", f"{strategy}:X", "-s", "SYN01", "-q")
    refused(res, "interrupted")
    assert res.exit_code == 130
    assert tree_hash(af_home) == before


def test_module_that_exits_is_not_left_imported(tmp_path: Path) -> None:
    path = tmp_path / "s_exit.py"
    path.write_text("raise SystemExit(0)\n")
    with pytest.raises(ExitOnImport, match="line 1"):
        module_from_file(path, "alphaforge_test_exit_on_import")
    assert "alphaforge_test_exit_on_import" not in sys.modules
