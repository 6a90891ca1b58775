"""The manual as written: every shell command and Python snippet of README.md and the
"Getting started" pages runs, in page order, on the sample data in a fresh home.

Commands are extracted from the files themselves. A command is skipped only for a reason in
:data:`SKIP` (network, installing, running the test suite itself); files the pages assume the
user has (``acme.csv``, ``run.yaml``, ...) are made from the sample market first.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.data.sample import generate_daily
from alphaforge.testing import shared_data_dir, skip_or_fail

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    ROOT / "docs/getting-started/install.md",
    ROOT / "docs/getting-started/demo.md",
    ROOT / "docs/getting-started/data.md",
    ROOT / "docs/getting-started/first-backtest.md",
]
SKIP: dict[str, str] = {
    r"^make (test|docs)\b": "runs the test suite / docs build that runs this test",
    r"pip install|python3 -m venv": "installs packages (the test runs inside the installed venv)",
    r"\bdata fetch\b": "downloads from a vendor (tests/integration/sources covers the adapters)",
    r"paper --config examples/paper_alpaca\.yaml$": "trades on Alpaca "
    "(tests/integration/test_paper_alpaca_live.py runs it against a local stand-in)",
}
# commands that exit non-zero by design, as the page says next to them
EXPECTED_CODES = {r"--strict": {0, 1}}


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def shell_commands(page: Path) -> list[str]:
    """The commands of a page's ``bash`` blocks (continuations joined, comments cut)."""
    out = []
    for block in _blocks(page.read_text(), "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            cmd = line.split(" #")[0].strip()
            if cmd and not cmd.startswith("#"):
                out.append(cmd)
    return out


def python_snippets(page: Path) -> list[str]:
    return _blocks(page.read_text(), "python")


def _provide_user_files(cwd: Path) -> None:
    """The files the pages assume the reader has: one symbol of the sample as CSV, a run config;
    ``../shared/data`` beside the working folder, as beside the project."""
    shared = shared_data_dir()
    if not shared.is_dir():
        skip_or_fail(f"shared real data {shared} is not present (the manual imports it)")
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd.parent / "shared").mkdir(exist_ok=True)
    (cwd.parent / "shared" / "data").symlink_to(shared)
    bars = generate_daily(seed=42, n_symbols=2, years=4)
    one = bars[bars["symbol"] == "SYN01"].drop(columns=["symbol"])
    one = one.rename(columns={"timestamp": "Date"}).set_index("Date")
    assert isinstance(one.index, pd.DatetimeIndex)
    one.index = one.index.tz_localize(None)
    one.columns = [c.capitalize() for c in one.columns]
    for name in ("acme.csv", "prices.csv", "raw.csv"):
        one.to_csv(cwd / name)
    (cwd / "run.yaml").write_text("strategy: sma_cross\nsymbols: [SYN01, SYN02]\n")
    (cwd / "examples").symlink_to(ROOT / "examples")


def _argv(cmd: str, home: Path) -> list[str] | None:
    """The alphaforge argv of a shell command, or None for a command of another program."""
    words = shlex.split(cmd)
    if words[:2] == ["make", "demo"]:
        return ["--home", str(home.parent / ".demo"), "demo"]  # what `make demo` runs
    if words and words[0].endswith("alphaforge"):
        return normalize_argv(["--home", str(home), *words[1:]])
    return None


def test_every_shell_command_of_the_manual_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    _provide_user_files(work)
    monkeypatch.chdir(work)
    home = work / "home"
    failures, ran, skipped = [], 0, []
    timings: list[tuple[float, str]] = []
    for page in PAGES:
        for cmd in shell_commands(page):
            reason = next((r for pat, r in SKIP.items() if re.search(pat, cmd)), None)
            argv = None if reason else _argv(cmd, home)
            if argv is None:
                skipped.append((cmd, reason or "not an alphaforge command"))
                continue
            if "runs/a/result.json" in cmd:  # two results to compare: the demo's, twice
                for run in ("a", "b"):
                    (work / "runs" / run).mkdir(parents=True, exist_ok=True)
                    src = work / ".demo" / "runs" / "demo" / "result.json"
                    (work / "runs" / run / "result.json").write_bytes(src.read_bytes())
            t0 = time.perf_counter()
            res = CliRunner().invoke(app, argv)
            timings.append((time.perf_counter() - t0, cmd))
            ran += 1
            ok = next((codes for pat, codes in EXPECTED_CODES.items() if re.search(pat, cmd)), {0})
            if res.exit_code not in ok or "Traceback" in res.output:
                failures.append(f"{page.name}: {cmd} -> exit {res.exit_code}: {res.output[-300:]}")
    print("\n".join(f"{t:6.1f}s {c}" for t, c in sorted(timings, reverse=True)[:8]))
    assert not failures, "\n".join(failures)
    assert ran >= 12, (ran, skipped)
    assert all(
        r != "not an alphaforge command" or c.startswith(".venv/bin/pip") for c, r in skipped
    ), skipped


@pytest.mark.parametrize("page", [p for p in PAGES if python_snippets(p)], ids=lambda p: p.name)
def test_every_python_snippet_of_the_manual_runs(page: Path, tmp_path: Path) -> None:
    snippets = python_snippets(page)
    work = tmp_path / "work"
    _provide_user_files(work)
    for code in ["\n".join(snippets)]:  # a page's snippets go on from each other
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=work, capture_output=True, text=True,
            timeout=300, env={**os.environ, "ALPHAFORGE_HOME": str(tmp_path / "home")},
        )  # fmt: skip
        assert done.returncode == 0, f"{page.name}:\n{code}\n{done.stderr[-2000:]}"
