"""A home with a small SYNTHETIC sample and one replay in its ledger, shared by a module's
tests (copied per test, so a failed check cannot leak), and the checks every bad input gets."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv

REPLAY_CONFIG = """\
strategy: sma_cross
params: {fast: 5, slow: 20}
symbols: [SYN01]
timeframe: 1d
cash: 100000
broker: {name: simulated}
"""


def invoke(home: Path, *args: str, input: str | None = None) -> Any:
    """``alphaforge --home HOME ARGS...`` in-process (``input``: what is typed at a prompt)."""
    runner = CliRunner()
    argv = normalize_argv(["--home", str(home), *args])
    return runner.invoke(app, argv, input=input, env={"COLUMNS": "200"})


def tree_hash(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> content hash)."""
    return {
        str(p.relative_to(root)): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def refused(res: Any, *names: str) -> str:
    """The one error line of a refused command, checked: non-zero exit, no traceback, one line
    on stderr starting with ``error:`` and naming each of ``names``."""
    assert res.exit_code != 0, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    err = res.stderr.strip()
    assert "Traceback" not in res.output
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    for name in names:
        assert name.lower() in err.lower(), (name, err)
    return err


def replay_run(home: Path, config_text: str, run_id: str, to: str = "2014-12-31") -> None:
    """``paper --replay`` of ``config_text`` over 2014 up to ``to`` as run ``run_id``."""
    config = home.parent / f"{run_id}.yaml"
    config.write_text(config_text)
    res = invoke(home, "paper", "--config", str(config), "--replay", "--from", "2014-01-02",
                 "--to", to, "-q", "--run-id", run_id)  # fmt: skip
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with 3 SYNTHETIC equities (2 years of daily bars) and one replay of
    ``REPLAY_CONFIG`` over 2014 in its ledger."""
    root = tmp_path_factory.mktemp("cli_edges")
    home = root / "home"
    res = invoke(home, "data", "sample", "--symbols", "3", "--years", "2", "--no-intraday")
    assert res.exit_code == 0, res.output
    replay_run(home, REPLAY_CONFIG, "r1")
    return home


@pytest.fixture
def af_home(seeded: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded home for one test."""
    copy = tmp_path / "home"
    shutil.copytree(seeded, copy)
    return copy
